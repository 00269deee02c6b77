import { httpHandler } from '../http/http-handler.js';
import { createLogger } from '../http/logger.js';
import { json } from '../http/responses.js';

/** Liveness only: answers without touching the database, so it stays cheap to poll. */
export const handler = httpHandler({
  logger: createLogger(),
  methods: ['GET'],
  handle: () => Promise.resolve(json(200, { status: 'ok' })),
});
