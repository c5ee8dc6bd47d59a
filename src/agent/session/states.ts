/**
 * The session state machine (ARCHITECTURE.md, "The session"). A session always passes through
 * `tearing-down`, whatever happened before, so teardown is one code path.
 */

export type ActiveState = 'preflight' | 'connecting' | 'verifying' | 'backing-up' | 'reconnecting' | 'tearing-down';
export type EndState = 'done' | 'failed' | 'cancelled';
export type SessionState = ActiveState | EndState;

/** Which states may follow which. `interrupted` is written by the agent, never by a session. */
export const allowedNext: Readonly<Record<SessionState, readonly SessionState[]>> = {
  preflight: ['connecting', 'tearing-down'],
  connecting: ['verifying', 'tearing-down'],
  verifying: ['backing-up', 'tearing-down'],
  // The tunnel is repaired underneath the running engine: backing-up ⇄ reconnecting. The engine
  // may also end while a repair is under way, so reconnecting can go straight to teardown.
  'backing-up': ['reconnecting', 'tearing-down'],
  reconnecting: ['backing-up', 'tearing-down'],
  'tearing-down': ['done', 'failed', 'cancelled'],
  done: [],
  failed: [],
  cancelled: [],
};

export function isEndState(state: SessionState): state is EndState {
  return state === 'done' || state === 'failed' || state === 'cancelled';
}

/** Who stopped a session: the user (CLI Ctrl-C, tray, API) or the system (shutdown, deadline). */
export type CancelledBy = 'user' | 'system';

/** The reason passed to AbortController.abort() so the session can say who cancelled. */
export class SessionCancel extends Error {
  override readonly name = 'SessionCancel';
  constructor(readonly by: CancelledBy) {
    super(`cancelled by ${by}`);
  }
}

export function cancelledBy(signal: AbortSignal): CancelledBy {
  return signal.reason instanceof SessionCancel ? signal.reason.by : 'user';
}
