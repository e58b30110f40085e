/** Entry of run.html: the URL-driven mode only (no UI, no text: the GPU machine has no fonts). */
import { createReconstructClient } from './app/client';
import { runFromUrl } from './app/urlMode';

const client = createReconstructClient();
(window as unknown as { webrecon: typeof client }).webrecon = client;
if (!runFromUrl(client, window.location.search)) console.error('run.html: give ?job=<dir under /data> or ?bench=<json>');
