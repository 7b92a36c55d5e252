/** Hands a committed group of events to fan-out. */
export interface IngestedMessage {
  type: "ingested";
  workspace_id: string;
  /** Storage ids (ULIDs) of the events committed together. */
  ids: string[];
}

/** Sends some events of one workspace to one destination (one attempt). */
export interface DeliverMessage {
  type: "deliver";
  workspace_id: string;
  destination_id: string;
  /** Storage ids (ULIDs) of the events, at most the connector's batch limit. */
  ids: string[];
  /** 1 for the first attempt. */
  attempt: number;
  /** An explicit replay: send even what was delivered before. */
  replay?: boolean;
  /** Names to send that differ from the event's own (routing-rule renames), by storage id. */
  names?: Record<string, string>;
}

/** Asks a platform how events it took in for processing went (a connector's `followUp`). */
export interface CheckMessage {
  type: "check";
  workspace_id: string;
  destination_id: string;
  /** Storage ids (ULIDs) of the events the platform accepted together. */
  ids: string[];
  /** What the platform answered to identify them (Google Data Manager's requestId). */
  token: string;
  /** Epoch ms the platform accepted them. */
  accepted_at: number;
  /** 1 for the first check. */
  check: number;
}

/** Sends one webhook message to one webhook (one attempt). */
export interface WebhookDeliveryMessage {
  type: "webhook";
  workspace_id: string;
  webhook_id: string;
  delivery_id: string;
  /** Starts at 0 and grows with each redelivery; a message of an older round is stale. */
  round: number;
  /** The delivery's attempt number this message makes, 1 for the first. */
  attempt: number;
}

/** Every message Sluice puts on its queue. */
export type QueueMessage =
  | IngestedMessage
  | DeliverMessage
  | CheckMessage
  | WebhookDeliveryMessage;

/** Options for one queued message. */
export interface EnqueueOptions {
  /** Milliseconds before the message becomes due. */
  delayMs?: number;
}

/** Handles one message; throwing makes the queue deliver it again later. */
export type MessageHandler = (message: QueueMessage) => Promise<void>;

/**
 * The queue port (DESIGN.md "Scale"): the delivery side talks only to this, so the
 * KV-queue adapter and the leased-outbox adapter are interchangeable.
 */
export interface QueuePort {
  readonly kind: "kv-queue" | "kv-outbox";
  /** Adds a message to an atomic operation: it is queued only if the operation commits. */
  enqueueIn(op: Deno.AtomicOperation, message: QueueMessage, options?: EnqueueOptions): void;
  /** Queues one message on its own. */
  enqueue(message: QueueMessage, options?: EnqueueOptions): Promise<void>;
  /** Delivers messages to `handler` until the KV handle closes. */
  listen(handler: MessageHandler): Promise<void>;
  /**
   * Stops delivering (no new handler starts) and resolves once running handlers have
   * finished; call it before closing KV.
   */
  close(): Promise<void>;
}
