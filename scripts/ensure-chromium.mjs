#!/usr/bin/env node
// Makes sure the system Chromium that the browser tests drive is installed (Debian's `chromium`, through apt).
// Playwright's own browser download cannot work on our machines, so we never use it.
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (existsSync(CHROMIUM)) process.exit(0);
console.log(`[ensure-chromium] ${CHROMIUM} is missing: installing Debian's chromium with apt-get`);
const sudo = process.getuid && process.getuid() !== 0 ? 'sudo ' : '';
try {
  execSync(`${sudo}apt-get update -qq && DEBIAN_FRONTEND=noninteractive ${sudo}apt-get install -y -qq chromium`, { stdio: 'inherit' });
} catch {
  console.error('[ensure-chromium] could not install chromium; install it with: apt-get install chromium');
  process.exit(1);
}
if (!existsSync(CHROMIUM)) {
  console.error(`[ensure-chromium] chromium installed but ${CHROMIUM} is still missing`);
  process.exit(1);
}
