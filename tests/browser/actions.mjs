// The page's re-seed, reset and rebuild buttons, seed status and the last
// sync of a watch running in another process, in a real headless browser
// (Debian's chromium, driven by playwright-core). Run by tests/it/web_ui.rs
// against a real environment; prints `ok <check>` per check and exits
// non-zero (with the reason) on the first failure. Data is checked through
// the services themselves: `devenv exec db -- psql …` and the app's HTTP.
//
// Env: DEVENV_UI_URL, DEVENV_CHROMIUM, DEVENV_PLAYWRIGHT_DIR, ARTIFACTS (as ui.mjs);
// DEVENV_BIN (the devenv binary) and PROJECT_DIR (where its devenv.yaml is);
// APP_URL (the built service `api`'s host URL); ROWS (rows the seeds make).
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

const env = (k) => { const v = process.env[k]; if (!v) { console.error(`missing env ${k}`); process.exit(2); } return v; };
const url = env("DEVENV_UI_URL");
const artifacts = env("ARTIFACTS");
const projectDir = env("PROJECT_DIR");
const rows = env("ROWS");
const require = createRequire(path.join(env("DEVENV_PLAYWRIGHT_DIR"), "node_modules", "x.js"));
const { chromium } = require("playwright-core");
mkdirSync(artifacts, { recursive: true });

const card = (s) => `[data-service="${s}"]`;
const ok = (what) => console.log(`ok ${what}`);
const fail = (what) => { throw new Error(what); };
const devenv = (...args) => execFileSync(env("DEVENV_BIN"), args, { cwd: projectDir, env: process.env, stdio: ["ignore", "pipe", "pipe"] }).toString().trim();
const sql = (q) => devenv("exec", "-T", "db", "--", "psql", "-U", "devenv", "-d", "shop", "-tAc", q);
const count = () => sql("SELECT count(*) FROM items");
const buildMark = async () => (await fetch(env("APP_URL") + "/env/BUILD_MARK")).text();

// Click an action's button with the keyboard (focus + Enter), accept its
// confirmation, wait for the answer on the card; returns it.
async function act(page, service, label, expect) {
  const fb = `${card(service)} .feedback`;
  await page.locator(fb).evaluate((e) => { e.textContent = ""; e.className = "feedback"; });
  const button = page.getByRole("button", { name: `${label} ${service}`, exact: true });
  await button.focus();
  await page.keyboard.press("Enter");
  await page.waitForFunction(([sel, label]) => { const t = document.querySelector(sel).textContent; return t && !t.endsWith("…") && t !== label; }, [fb, label], { timeout: 120000 });
  const text = await page.locator(fb).textContent();
  const isError = await page.locator(fb).evaluate((e) => e.classList.contains("error"));
  if (expect && (isError || !text.includes(expect))) fail(`${label} ${service}: the card says ${JSON.stringify(text)} (error: ${isError}), not ${JSON.stringify(expect)}`);
  return { text, isError };
}

async function main() {
  const browser = await chromium.launch({ executablePath: env("DEVENV_CHROMIUM"), args: ["--no-sandbox", "--disable-dev-shm-usage"] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on("pageerror", (e) => console.error(`page error: ${e.message}`));
    const dialogs = [];
    page.on("dialog", (d) => { dialogs.push(d.message()); d.accept(); });
    await page.goto(url);
    for (const s of ["db", "api"]) await page.waitForSelector(`${card(s)}[data-health="ready"]`, { timeout: 60000 });

    // Seed status: both entries applied, a seeded snapshot kept (so `reset` is offered).
    await page.waitForSelector(`${card("db")} [data-seed-status="2/2"]`, { timeout: 15000 });
    const seedText = await page.locator(`${card("db")} details summary`).textContent();
    if (!/2 of 2 applied, last /.test(seedText)) fail(`db's seed status reads ${JSON.stringify(seedText)}`);
    await page.locator(`${card("db")} details summary`).click();
    const entries = await page.locator(`${card("db")} ul.entries`).textContent();
    if (!entries.includes("csv items.csv") || !entries.includes(`(${rows} rows)`)) fail(`db's seed entries read ${JSON.stringify(entries)}`);
    await page.waitForSelector(`${card("db")} button[data-action="reset"]`, { timeout: 15000 });
    const resetTo = await page.locator(`${card("db")} dd`, { hasText: "seeded snapshot of" }).count();
    if (resetTo !== 1) fail("db's card does not say which seeded snapshot reset goes back to");
    if (await page.locator(`${card("api")} button[data-action="reseed"], ${card("api")} button[data-action="reset"]`).count()) fail("api (no seeds) offers re-seed or reset");
    if (!(await page.locator(`${card("api")} button[data-action="rebuild"]`).count())) fail("api (build:) offers no rebuild");
    if (await page.locator(`${card("db")} button[data-action="rebuild"]`).count()) fail("db (a pulled image) offers rebuild");
    ok(`seed status: ${seedText.trim()}; entries: ${entries.trim()}; reset and rebuild offered where they apply`);

    // The last sync of the watch running in another process.
    await page.waitForSelector(`${card("api")} dd:has-text("watched now")`, { timeout: 15000 });
    const lastSync = `${card("api")} [data-last-sync]`;
    const earlier = (await page.locator(lastSync).count()) ? await page.locator(lastSync).textContent() : "";
    const marker = `hello-${Date.now()}`;
    writeFileSync(path.join(projectDir, "api", "src", "hello.txt"), marker);
    await page.waitForFunction(([sel, earlier]) => { const e = document.querySelector(sel); return e && e.textContent !== earlier; }, [lastSync, earlier], { timeout: 15000 });
    const sync = await page.locator(lastSync).textContent();
    if (!/api: synced 1 file in \d+ ms/.test(sync)) fail(`api's last sync reads ${JSON.stringify(sync)}`);
    const inContainer = devenv("exec", "-T", "api", "--", "cat", "/app/src/hello.txt");
    if (inContainer !== marker) fail(`the synced file holds ${JSON.stringify(inContainer)}`);
    ok(`last sync of the watch in another terminal: ${sync.trim()}`);
    await page.screenshot({ path: path.join(artifacts, "06-seeds-watch-1280x800.png"), fullPage: true });

    // Reset: the rows deleted since seeding come back.
    sql("DELETE FROM items WHERE id > 10");
    if (count() !== "10") fail("could not delete rows");
    const reset = await act(page, "db", "reset", "reset db to its seeded snapshot");
    if (count() !== rows) fail(`after reset db holds ${count()} rows, not ${rows}`);
    ok(`reset: ${reset.text} — ${rows} rows back (was 10)`);

    // Re-seed: emptied, then every entry applied again.
    const before = await page.locator(`${card("db")} ul.entries`).textContent();
    sql("DELETE FROM items; CREATE TABLE scratch (x int)");
    const reseed = await act(page, "db", "re-seed", "re-seeded db: emptied, 2 seed entries applied");
    if (count() !== rows) fail(`after re-seed db holds ${count()} rows, not ${rows}`);
    if (sql("SELECT count(*) FROM pg_tables WHERE tablename = 'scratch'") !== "0") fail("re-seed kept a table the seeds did not make");
    await page.waitForFunction(([sel, before]) => document.querySelector(sel).textContent !== before, [`${card("db")} ul.entries`, before], { timeout: 15000 });
    ok(`re-seed: ${reseed.text} — ${rows} rows, the scratch table gone, new applied times shown`);
    if (dialogs.length !== 2 || !dialogs[0].startsWith("Reset db") || !dialogs[1].startsWith("Re-seed db")) fail(`confirmations asked: ${JSON.stringify(dialogs)}`);
    ok("reset and re-seed asked for confirmation first");

    // Rebuild: a new image (the build context changed), a new container, ready again.
    const first = await buildMark();
    if (!first.startsWith("v")) fail(`api answers BUILD_MARK=${first}`);
    const next = `v${Date.now()}`;
    writeFileSync(path.join(projectDir, "api", "Dockerfile"), `FROM devenv-test/app:1\nENV BUILD_MARK=${next}\n`);
    const rebuilt = await act(page, "api", "rebuild", "rebuilt api: recreated with the new image");
    await page.waitForSelector(`${card("api")}[data-health="ready"]`, { timeout: 60000 });
    const mark = await buildMark();
    if (mark !== next) fail(`after rebuild api answers BUILD_MARK=${mark}, not ${next}`);
    ok(`rebuild: ${rebuilt.text} — api answered BUILD_MARK=${first}, now ${next}`);

    // Errors in place: re-seed of a stopped service says why, and nothing else happens.
    await act(page, "db", "stop", "stopped db");
    await page.waitForSelector(`${card("db")}[data-health="down"]`, { timeout: 15000 });
    const refused = await act(page, "db", "re-seed");
    if (!refused.isError || !refused.text.includes("service `db` is not running")) fail(`re-seed of a stopped db: ${JSON.stringify(refused)}`);
    ok(`an action that cannot run says why on its card: ${refused.text}`);
    await page.screenshot({ path: path.join(artifacts, "07-actions-1280x800.png"), fullPage: true });

    // Contrast: every text of the page (the SVG drawings aside) at least 4.5:1 against its background (WCAG AA).
    const low = await page.evaluate(() => {
      const rgb = (c) => (c.match(/[\d.]+/g) || []).map(Number);
      const lum = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
      const bg = (e) => { for (; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c.length === 3 || c[3] > 0) return c; } return [255, 255, 255]; };
      const out = [];
      for (const e of document.querySelectorAll("body *:not(svg *)")) {
        if (![...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
        const cs = getComputedStyle(e);
        const [a, b] = [lum(rgb(cs.color)), lum(bg(e))];
        const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        if (ratio < 4.5 && !e.closest("[aria-disabled=true], :disabled")) out.push(`${e.tagName} "${e.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
      }
      return out;
    });
    if (low.length) fail(`text below 4.5:1 contrast: ${low.join("; ")}`);
    // The graph's nodes: white text on the state's colour.
    const nodes = await page.evaluate(() => [...document.querySelectorAll("#graph rect")].map((r) => r.getAttribute("fill")));
    const hex = (h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16));
    const L = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
    for (const c of ["#17692f", "#8a5a00", "#a3141b", "#6b7280", ...nodes]) if (1.05 / (L(hex(c)) + 0.05) < 4.5) fail(`white on ${c} in the graph is below 4.5:1`);
    ok("contrast: every text of the page is at least 4.5:1 (the graph's white labels too)");

    // Narrow: the action buttons wrap, nothing overflows sideways.
    await page.setViewportSize({ width: 400, height: 900 });
    await page.waitForTimeout(200);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    if (overflow > 0) fail(`at 400 px wide the page overflows sideways by ${overflow} px`);
    ok("usable at 400 px wide with the new actions (no sideways overflow)");
    await page.screenshot({ path: path.join(artifacts, "08-actions-narrow-400.png"), fullPage: true });
  } finally {
    await browser.close();
  }
}

main().then(() => console.log("PASS"), (e) => { console.error(`FAIL: ${e.message}`); process.exit(1); });
