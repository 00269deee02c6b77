import { httpHandler } from '../http/http-handler.js';
import { json } from '../http/responses.js';

/** Liveness only: answers without touching the database, so it stays cheap to poll. */
export const handler = httpHandler({
  methods: ['GET'],
  handle: () => Promise.resolve(json(200, { status: 'ok' })),
});
