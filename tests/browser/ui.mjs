// `devenv ui` in a real headless browser (Debian's chromium, driven by playwright-core).
// Run by tests/it/web_ui.rs against a real environment; prints `ok <check>` per
// check and exits non-zero (with the reason) on the first failure.
//
// Env: DEVENV_UI_URL (the URL `devenv ui` printed), DEVENV_CHROMIUM (browser),
// DEVENV_PLAYWRIGHT_DIR (where playwright-core is installed), ARTIFACTS (screenshot dir),
// KILL_CONTAINER (the container to `docker kill`), KILL_SERVICE (its service),
// SERVICES (comma-separated, all expected ready), LOG_URL (a URL of KILL_SERVICE
// whose request it logs), MASKED_SERVICE (a service whose URL has a password).
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";

const env = (k) => { const v = process.env[k]; if (!v) { console.error(`missing env ${k}`); process.exit(2); } return v; };
const url = env("DEVENV_UI_URL");
const artifacts = env("ARTIFACTS");
const killService = env("KILL_SERVICE");
const services = env("SERVICES").split(",");
const require = createRequire(path.join(env("DEVENV_PLAYWRIGHT_DIR"), "node_modules", "x.js"));
const { chromium } = require("playwright-core");
mkdirSync(artifacts, { recursive: true });

const base = new URL(url);
const origin = base.origin;
const token = base.searchParams.get("token");
const card = (s) => `[data-service="${s}"]`;
const ok = (what) => console.log(`ok ${what}`);
const fail = (what) => { throw new Error(what); };

async function forbidden() {
  // Wrong or missing token: 403, and nothing changes (the container stays running).
  const before = execFileSync("docker", ["inspect", "-f", "{{.State.Running}} {{.State.StartedAt}}", env("KILL_CONTAINER")]).toString().trim();
  const tries = [
    [origin + "/", {}],
    [origin + "/?token=wrong", {}],
    [origin + "/api/state", {}],
    [origin + "/api/events?token=" + token.slice(0, -1) + "x", {}],
    [origin + "/api/logs?service=" + killService, {}],
    [origin + "/api/url?service=" + env("MASKED_SERVICE"), {}],
    [origin + `/api/services/${killService}/stop`, { method: "POST" }],
    [origin + `/api/services/${killService}/stop?token=${token}`, { method: "POST" }],
    [origin + `/api/services/${killService}/restart`, { method: "POST", headers: { "X-Devenv-Token": "wrong" } }],
    [origin + `/api/services/${killService}/stop`, { method: "POST", headers: { Cookie: `devenv_ui_token=${token}` } }],
  ];
  for (const [u, opts] of tries) {
    const r = await fetch(u, opts);
    if (r.status !== 403) fail(`${opts.method || "GET"} ${u.replace(token, "TOKEN")} answered ${r.status}, not 403`);
  }
  await new Promise((r) => setTimeout(r, 1500));
  const after = execFileSync("docker", ["inspect", "-f", "{{.State.Running}} {{.State.StartedAt}}", env("KILL_CONTAINER")]).toString().trim();
  if (before !== after || !after.startsWith("true")) fail(`the container changed after refused requests: ${before} → ${after}`);
  ok(`403 for ${tries.length} requests without the right token; nothing changed`);
}

async function main() {
  await forbidden();
  const browser = await chromium.launch({ executablePath: env("DEVENV_CHROMIUM"), args: ["--no-sandbox", "--disable-dev-shm-usage"] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on("pageerror", (e) => console.error(`page error: ${e.message}`));
    const resp = await page.goto(url);
    if (resp.status() !== 200) fail(`the page answered ${resp.status()}`);

    // Every service ready.
    for (const s of services) await page.waitForSelector(`${card(s)}[data-health="ready"]`, { timeout: 60000 });
    ok(`every service ready: ${services.join(", ")}`);
    for (const s of services) await page.waitForSelector(`#graph [data-node="${s}"]`, { timeout: 5000 });
    ok("the dependency graph draws every service");
    await page.screenshot({ path: path.join(artifacts, "01-ready-1280x800.png"), fullPage: true });

    // The URL with a password is masked, and revealed on request.
    const masked = env("MASKED_SERVICE");
    const code = page.locator(`${card(masked)} dd code`);
    const shown = await code.textContent();
    if (!shown.includes("***")) fail(`${masked}'s URL is not masked: ${shown}`);
    await page.getByRole("button", { name: `reveal the password of ${masked}` }).click();
    await page.waitForFunction(([sel]) => { const t = document.querySelector(sel).textContent; return !t.includes("***") && t.includes("@"); }, [`${card(masked)} dd code`], { timeout: 5000 });
    ok(`${masked}'s URL is masked (${shown}) and revealed on request`);

    // An HTTP service's URL can be opened.
    const href = await page.getAttribute(`${card(killService)} a[aria-label="open ${killService} in a new tab"]`, "href");
    if (href !== env("LOG_URL")) fail(`${killService}'s open link is ${href}, not ${env("LOG_URL")}`);
    ok(`${killService}'s URL opens as a link: ${href}`);

    // Logs stream: a request to the service is logged, and shows up.
    await page.selectOption("#logsvc", killService);
    await page.waitForFunction(() => document.getElementById("logstatus").textContent === "streaming", null, { timeout: 10000 });
    const marker = `/marker-${Date.now()}`;
    await fetch(env("LOG_URL") + marker).catch(() => {});
    await page.waitForFunction((m) => document.getElementById("logs").textContent.includes(m), marker, { timeout: 10000 });
    ok(`logs stream: ${marker} appeared`);
    await page.fill("#search", marker);
    const visible = await page.locator("#logs > div:not(.hidden)").count();
    if (visible !== 1) fail(`search for ${marker} shows ${visible} lines, not 1`);
    ok("log search filters lines");
    await page.screenshot({ path: path.join(artifacts, "02-logs-1280x800.png"), fullPage: true });
    await page.fill("#search", "");

    // Killed from outside: red within a second.
    execFileSync("docker", ["kill", env("KILL_CONTAINER")]);
    const t0 = Date.now();
    await page.waitForSelector(`${card(killService)}[data-health="down"]`, { timeout: 1000 });
    ok(`${killService} killed from outside turned red in ${Date.now() - t0} ms`);
    await page.screenshot({ path: path.join(artifacts, "03-killed-1280x800.png"), fullPage: true });

    // The restart button (keyboard: focus + Enter) brings it back.
    const restart = page.getByRole("button", { name: `restart ${killService}`, exact: true });
    await restart.focus();
    await page.keyboard.press("Enter");
    await page.waitForSelector(`${card(killService)}[data-health="ready"]`, { timeout: 30000 });
    await page.waitForFunction((s) => document.querySelector(`[data-service="${s}"] .feedback`).textContent.includes("restarted"), killService, { timeout: 5000 });
    ok(`the restart button brought ${killService} back to ready`);
    const running = execFileSync("docker", ["inspect", "-f", "{{.State.Running}}", env("KILL_CONTAINER")]).toString().trim();
    if (running !== "true") fail(`docker says ${env("KILL_CONTAINER")} running=${running}`);
    // The log view follows the restarted container.
    const marker2 = `/after-restart-${Date.now()}`;
    await page.waitForFunction(() => document.getElementById("logstatus").textContent === "streaming", null, { timeout: 10000 });
    await fetch(env("LOG_URL") + marker2).catch(() => {});
    await page.waitForFunction((m) => document.getElementById("logs").textContent.includes(m), marker2, { timeout: 10000 });
    ok(`logs follow the restarted container: ${marker2} appeared`);

    // Narrow window: the cards stack in one column, nothing overflows sideways.
    await page.setViewportSize({ width: 400, height: 900 });
    await page.waitForTimeout(200);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    if (overflow > 0) fail(`at 400 px wide the page overflows sideways by ${overflow} px`);
    ok("usable at 400 px wide (no sideways overflow)");
    await page.screenshot({ path: path.join(artifacts, "04-narrow-400.png"), fullPage: true });
  } finally {
    await browser.close();
  }
}

main().then(() => console.log("PASS"), (e) => { console.error(`FAIL: ${e.message}`); process.exit(1); });
