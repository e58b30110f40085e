/** UI bootstrap: creates the worker, wires the page, exposes the automation handle for tests and the headless runner. */
import { createReconstructClient } from './app/client';
import { mountApp } from './app/ui';
import { runFromUrl } from './app/urlMode';

const client = createReconstructClient();
(window as unknown as { webrecon: typeof client }).webrecon = client;
mountApp(document, client);
runFromUrl(client, window.location.search);
