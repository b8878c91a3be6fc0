// `tikcast/widgets`: ready-made OBS widgets as custom elements (shadow DOM, styled by CSS
// custom properties), registered on import:
//
//   <script type="module">import 'tikcast/widgets';</script>
//   <tikcast-chat relay="wss://relay.example/ws" unique-id="some.creator"></tikcast-chat>
//   <tikcast-goal replay="/demo/demo-session.tkrec" metric="likes" target="500"></tikcast-goal>
//
// or `element.connection = existingConnection`. See js/README.md, "Widgets".
import { TikcastAlerts } from './alerts.js';
import { TikcastBattle } from './battle.js';
import { TikcastChat } from './chat.js';
import { TikcastCounter } from './counter.js';
import { TikcastEventLog } from './event-log.js';
import { TikcastGiftAlerts } from './gift-alerts.js';
import { TikcastGoal } from './goal.js';
import { TikcastLeaderboard } from './leaderboard.js';

export { CONNECTION_ATTRIBUTES, TikcastWidget, type CatalogGift, type WidgetState } from './base.js';
export { TikcastChat } from './chat.js';
export { TikcastGiftAlerts, giftDiamonds, type GiftAlert } from './gift-alerts.js';
export { TikcastGoal, GOAL_METRICS, type GoalMetric } from './goal.js';
export { TikcastLeaderboard, type LeaderboardEntry } from './leaderboard.js';
export { TikcastCounter, COUNTER_METRICS, type CounterMetric } from './counter.js';
export { TikcastAlerts, ALERT_TYPES, type AlertType } from './alerts.js';
export { TikcastBattle } from './battle.js';
export { TikcastEventLog, describeEvent } from './event-log.js';
export { parseRecording, loadRecording, playRecording, type Recording, type RecordingRecord } from './recording.js';

/** One setting of a widget, for pages that build widget URLs (www/builder.html). */
export interface WidgetOption {
  /** The attribute (and query parameter). */
  name: string;
  type: 'number' | 'text' | 'boolean' | 'choice';
  default: string;
  choices?: readonly string[];
  help: string;
}

/** A widget: its tag, a title, its own settings and a suggested OBS source size. */
export interface WidgetInfo {
  tag: string;
  title: string;
  options: WidgetOption[];
  width: number;
  height: number;
}

const n = (name: string, def: number, help: string): WidgetOption => ({ name, type: 'number', default: String(def), help });

/** Every widget by its short name (`widget.html?w=chat`). */
export const WIDGETS: Record<string, WidgetInfo> = {
  chat: {
    tag: 'tikcast-chat',
    title: 'Chat box',
    options: [n('max', 50, 'lines kept on screen'), { name: 'no-avatars', type: 'boolean', default: '', help: 'hide avatars' }],
    width: 400,
    height: 600,
  },
  'gift-alerts': {
    tag: 'tikcast-gift-alerts',
    title: 'Gift alerts',
    options: [
      n('min-diamonds', 0, 'leave out gifts worth less'),
      n('duration', 5000, 'ms each alert stays'),
      { name: 'sound', type: 'text', default: '', help: 'a sound URL played with each alert' },
      { name: 'volume', type: 'number', default: '0.6', help: 'sound volume, 0 to 1' },
      n('max-queue', 20, 'alerts waiting at most'),
    ],
    width: 500,
    height: 300,
  },
  goal: {
    tag: 'tikcast-goal',
    title: 'Goal bar',
    options: [
      { name: 'metric', type: 'choice', default: 'likes', choices: ['likes', 'diamonds', 'follows', 'shares', 'members'], help: 'what counts' },
      n('target', 100, 'the goal'),
      { name: 'label', type: 'text', default: '', help: 'the title (default by metric)' },
      { name: 'repeat', type: 'boolean', default: '', help: 'start the next round when reached' },
    ],
    width: 500,
    height: 90,
  },
  leaderboard: {
    tag: 'tikcast-leaderboard',
    title: 'Top gifters',
    options: [n('max', 5, 'gifters shown'), { name: 'title', type: 'text', default: 'Top gifters', help: 'the heading' }],
    width: 360,
    height: 300,
  },
  counter: {
    tag: 'tikcast-counter',
    title: 'Viewer / like counter',
    options: [
      { name: 'metric', type: 'choice', default: 'viewers', choices: ['viewers', 'likes'], help: 'what it counts' },
      { name: 'label', type: 'text', default: '', help: 'the text after the number' },
    ],
    width: 260,
    height: 70,
  },
  alerts: {
    tag: 'tikcast-alerts',
    title: 'Follow / share / subscribe alerts',
    options: [
      { name: 'types', type: 'text', default: 'follow,share,subscribe', help: 'which alerts' },
      n('duration', 4000, 'ms each alert stays'),
      n('max', 3, 'alerts on screen at most'),
    ],
    width: 420,
    height: 200,
  },
  battle: { tag: 'tikcast-battle', title: 'Battle meter', options: [n('hide-after', 20, 's the result stays (0: always)')], width: 600, height: 130 },
  'event-log': {
    tag: 'tikcast-event-log',
    title: 'Event log (moderators)',
    options: [
      { name: 'types', type: 'text', default: '', help: 'event types shown, comma-separated (empty: all)' },
      n('max', 200, 'rows the list scrolls through'),
      n('keep', 2000, 'events kept for export'),
    ],
    width: 800,
    height: 600,
  },
};

const CLASSES: Record<string, CustomElementConstructor> = {
  'tikcast-chat': TikcastChat,
  'tikcast-gift-alerts': TikcastGiftAlerts,
  'tikcast-goal': TikcastGoal,
  'tikcast-leaderboard': TikcastLeaderboard,
  'tikcast-counter': TikcastCounter,
  'tikcast-alerts': TikcastAlerts,
  'tikcast-battle': TikcastBattle,
  'tikcast-event-log': TikcastEventLog,
};
if (typeof customElements !== 'undefined') {
  for (const [tag, cls] of Object.entries(CLASSES)) if (!customElements.get(tag)) customElements.define(tag, cls);
}

declare global {
  interface HTMLElementTagNameMap {
    'tikcast-chat': TikcastChat;
    'tikcast-gift-alerts': TikcastGiftAlerts;
    'tikcast-goal': TikcastGoal;
    'tikcast-leaderboard': TikcastLeaderboard;
    'tikcast-counter': TikcastCounter;
    'tikcast-alerts': TikcastAlerts;
    'tikcast-battle': TikcastBattle;
    'tikcast-event-log': TikcastEventLog;
  }
}
