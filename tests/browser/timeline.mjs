// The startup timeline of `devenv up --ui` in a real headless browser: one bar
// per service, the critical path marked; a screenshot. Run by tests/it/web_ui.rs.
// Env: DEVENV_UI_URL, DEVENV_CHROMIUM, DEVENV_PLAYWRIGHT_DIR, ARTIFACTS,
// SERVICES (comma-separated), LAST (the service that must end the critical path).
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import path from "node:path";

const env = (k) => { const v = process.env[k]; if (!v) { console.error(`missing env ${k}`); process.exit(2); } return v; };
const require = createRequire(path.join(env("DEVENV_PLAYWRIGHT_DIR"), "node_modules", "x.js"));
const { chromium } = require("playwright-core");
const artifacts = env("ARTIFACTS");
mkdirSync(artifacts, { recursive: true });

async function main() {
  const browser = await chromium.launch({ executablePath: env("DEVENV_CHROMIUM"), args: ["--no-sandbox", "--disable-dev-shm-usage"] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(env("DEVENV_UI_URL"));
    for (const s of env("SERVICES").split(",")) {
      await page.waitForSelector(`[data-service="${s}"][data-health="ready"]`, { timeout: 60000 });
      await page.waitForSelector(`#timeline [data-bar="${s}"]`, { timeout: 5000 });
    }
    console.log("ok a timeline bar per service");
    const last = env("LAST");
    const critical = await page.getAttribute(`#timeline [data-bar="${last}"]`, "data-critical");
    if (critical !== "true") throw new Error(`${last} (ready last) is not on the critical path`);
    console.log(`ok the critical path ends at ${last}`);
    await page.locator("#timeline-section").screenshot({ path: path.join(artifacts, "05-timeline.png") });
  } finally {
    await browser.close();
  }
}

main().then(() => console.log("PASS"), (e) => { console.error(`FAIL: ${e.message}`); process.exit(1); });
