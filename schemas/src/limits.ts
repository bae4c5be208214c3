/**
 * The limits a Branchbox daemon applies, so that no request can exhaust it: how big a message
 * may be, how many requests a batch may hold, which ids survive a round trip exactly, and how
 * large a project file may grow. `initialize` answers the protocol limits in
 * `capabilities.limits`; docs/protocol.md ("Limits") explains each.
 */

export const PROTOCOL_LIMITS = {
  /**
   * The largest message, in bytes of UTF-8, in either direction: a WebSocket frame, a stdio
   * body, an answer. A larger request closes the WebSocket (1009) or, over stdio, answers
   * ParseError; a larger answer is replaced by ResponseTooLarge.
   */
  maxMessageBytes: 4 * 1024 * 1024,
  /** The most requests and notifications one batch may hold; a longer batch answers InvalidRequest and runs nothing. */
  maxBatchLength: 1000,
  /** Integer ids beyond ±(2^53 − 1) cannot be echoed exactly by JSON numbers: they answer InvalidRequest (id null). */
  maxIntegerId: 9_007_199_254_740_991,
} as const;

/** Limits of `branchbox.yaml`, far above any real project; beyond them `project/load` answers ConfigInvalid. */
export const PROJECT_FILE_LIMITS = {
  /** The file's size in bytes, checked before it is read. */
  maxBytes: 256 * 1024,
  /** Entries of `services`. */
  maxServices: 200,
  /** Entries of `routes` (and of a template's `routes`). */
  maxRoutes: 500,
  /** Entries of `baseline`. */
  maxBaseline: 500,
  /** Entries of `templates`. */
  maxTemplates: 100,
  /** Entries of one `env` map (of a service or a template), and of a template's `services`. */
  maxEntries: 500,
  /**
   * YAML aliases: how many times one anchor's content may be repeated through aliases (nested
   * repetitions multiply), which stops "billion laughs" expansion.
   */
  maxAliasExpansion: 100,
} as const;
