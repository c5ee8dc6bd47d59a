/**
 * Typed IPC for the main process, with the sender of every message checked (Electron security
 * checklist: "validate the sender of all IPC messages"). Handlers can only be registered for
 * channels in the contract, and each call's arguments are checked before the handler runs.
 * Written against the small part of Electron's API it uses, so tests pass a fake `ipcMain`.
 */
import {
  invokeChannels, IpcContractError, sendChannels, validators,
  type InvokeChannels, type SendChannels,
} from './ipc-contract.js';

/** What a message says about who sent it (a subset of IpcMainEvent / IpcMainInvokeEvent). */
export interface IpcSenderEvent {
  readonly sender: { readonly id: number };
  readonly senderFrame: { readonly url: string } | null;
}

/** The part of Electron's ipcMain this module uses. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: IpcSenderEvent, ...args: unknown[]) => unknown): void;
  on(channel: string, listener: (event: IpcSenderEvent, ...args: unknown[]) => void): void;
}

/**
 * A sender is trusted when it is one of our windows (by webContents id) and the frame that sent
 * the message shows our own UI (its URL starts with the app's origin): a window that navigated
 * elsewhere, or an embedded frame, can't talk to main.
 */
export function trustedSender(windowIds: () => Iterable<number>, appOrigin: string): (event: IpcSenderEvent) => boolean {
  return (event) => {
    const frameUrl = event.senderFrame?.url;
    if (frameUrl === undefined) return false;
    let origin: string;
    try {
      // protocol + host, not URL.origin: Node gives custom schemes (app://) an opaque "null" origin.
      const url = new URL(frameUrl);
      origin = `${url.protocol}//${url.host}`;
    } catch {
      return false;
    }
    return origin === appOrigin && [...windowIds()].includes(event.sender.id);
  };
}

/** Thrown to the renderer for a message from a sender that is not ours. */
export class UntrustedSenderError extends Error {
  override readonly name = 'UntrustedSenderError';
}

export class IpcRouter {
  constructor(
    private readonly ipcMain: IpcMainLike,
    private readonly isTrusted: (event: IpcSenderEvent) => boolean,
    private readonly onRefused: (channel: string, reason: string) => void = () => undefined,
  ) {}

  /** Answers `channel` (invoke) with `handler`, for trusted senders and valid arguments only. */
  handle<C extends keyof InvokeChannels>(channel: C, handler: (event: IpcSenderEvent, ...args: Parameters<InvokeChannels[C]>) => ReturnType<InvokeChannels[C]>): void {
    if (!(invokeChannels as readonly string[]).includes(channel)) throw new IpcContractError(`${channel} is not an invoke channel of the contract`);
    const validate = validators[channel] as (args: readonly unknown[]) => Parameters<InvokeChannels[C]>;
    this.ipcMain.handle(channel, (event, ...args) => {
      if (!this.isTrusted(event)) {
        this.onRefused(channel, `untrusted sender ${event.senderFrame?.url ?? '(no frame)'}`);
        throw new UntrustedSenderError(`${channel}: refused, the sender is not a Backhaul window`);
      }
      let valid: Parameters<InvokeChannels[C]>;
      try {
        valid = validate(args);
      } catch (error) {
        this.onRefused(channel, error instanceof Error ? error.message : String(error));
        throw error;
      }
      return handler(event, ...valid);
    });
  }

  /** Listens on `channel` (send); messages from untrusted senders or with bad arguments are dropped. */
  on<C extends keyof SendChannels>(channel: C, listener: (event: IpcSenderEvent, ...args: Parameters<SendChannels[C]>) => void): void {
    if (!(sendChannels as readonly string[]).includes(channel)) throw new IpcContractError(`${channel} is not a send channel of the contract`);
    const validate = validators[channel] as (args: readonly unknown[]) => Parameters<SendChannels[C]>;
    this.ipcMain.on(channel, (event, ...args) => {
      if (!this.isTrusted(event)) {
        this.onRefused(channel, `untrusted sender ${event.senderFrame?.url ?? '(no frame)'}`);
        return;
      }
      try {
        listener(event, ...validate(args));
      } catch (error) {
        this.onRefused(channel, error instanceof Error ? error.message : String(error));
      }
    });
  }
}
