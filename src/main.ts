/** UI bootstrap: creates the worker, wires the page, exposes the automation handle for tests and the headless runner. */
import { createReconstructClient } from './app/client';
import { mountApp } from './app/ui';
import { runFromUrl } from './app/urlMode';

const client = createReconstructClient();
(window as unknown as { webrecon: typeof client }).webrecon = client;
// Renders a result zip's OBJ with three.js from a photo's camera (tests and the headless runner check UVs with it).
(window as unknown as { webreconRenderObj: unknown }).webreconRenderObj = async (request: import('./viewer/objRender').ObjRenderRequest) =>
  (await import('./viewer/objRender')).renderObjFromCamera(request);
mountApp(document, client);
runFromUrl(client, window.location.search);
