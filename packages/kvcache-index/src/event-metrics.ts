import type { Counter, MetricsRegistry } from './metrics.js';

export interface EventMetrics {
  messagesReceived: Counter;
  malformed: Counter;
  eventsApplied: Counter;
  storesSkipped: Counter;
  processingErrors: Counter;
  retries: Counter;
  sequenceGaps: Counter;
  missedMessages: Counter;
  sequenceResets: Counter;
  duplicates: Counter;
  replayRequests: Counter;
  replayFailures: Counter;
}

/** Registers the event-ingestion metrics (`kvcache_events_*`). */
export function registerEventMetrics(registry: MetricsRegistry): EventMetrics {
  const c = (name: string, help: string) => registry.counter(`kvcache_events_${name}`, help);
  return {
    messagesReceived: c('messages_received_total', 'ZMQ messages received from engines'),
    malformed: c(
      'malformed_messages_total',
      'Messages counted and skipped because they could not be decoded',
    ),
    eventsApplied: c('applied_total', 'KV events applied to the index, by type'),
    storesSkipped: c('stores_skipped_total', 'BlockStored events not applied, by reason'),
    processingErrors: c('processing_errors_total', 'Events whose index update failed (logged)'),
    retries: c(
      'backend_retries_total',
      'Event applications retried because the index backend was unavailable',
    ),
    sequenceGaps: c('sequence_gaps_total', 'Gaps detected in a publisher sequence'),
    missedMessages: c('missed_messages_total', 'Messages missing in detected sequence gaps'),
    sequenceResets: c(
      'sequence_resets_total',
      'Publisher sequences that went backwards (engine restart); the pod is cleared',
    ),
    duplicates: c('duplicate_messages_total', 'Messages with an already applied sequence number (skipped)'),
    replayRequests: c('replay_requests_total', 'Replay requests sent to engines after a gap'),
    replayFailures: c('replay_failures_total', 'Replay requests that failed or timed out'),
  };
}
