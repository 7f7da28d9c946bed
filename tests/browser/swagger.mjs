// Opens Swagger UI of a running cloudauth example in headless Chromium, authorizes with a
// token, runs "Try it out" on `GET /` and checks the status, first with a token that has the
// scope (200), then with one that lacks it (403). Requests to hosts other than 127.0.0.1 are
// aborted and make the check fail.
//
// Usage: node swagger.mjs BASE_URL SCOPED_TOKEN UNSCOPED_TOKEN SCREENSHOT_PATH

import { chromium } from 'playwright-core';

const [base, scopedToken, unscopedToken, screenshot] = process.argv.slice(2);
if (!base || !scopedToken || !unscopedToken || !screenshot) {
  console.error('usage: node swagger.mjs BASE_URL SCOPED_TOKEN UNSCOPED_TOKEN SCREENSHOT_PATH');
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});

const outside = [];
try {
  const context = await browser.newContext();
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === '127.0.0.1') {
      return route.continue();
    }
    outside.push(url.href);
    return route.abort();
  });
  const page = await context.newPage();
  await page.goto(`${base}/docs/`);

  const authorizeButton = page.locator('.scheme-container button.authorize');
  await authorizeButton.waitFor({ timeout: 30_000 });

  const root = page
    .locator('.opblock.opblock-get')
    .filter({ has: page.locator('.opblock-summary-path', { hasText: /^\/$/ }) })
    .first();
  await root.locator('.opblock-summary').first().click();
  await root.getByRole('button', { name: 'Try it out' }).click();

  const scopedStatus = await authorizeAndExecute(page, authorizeButton, root, scopedToken);
  const unscopedStatus = await authorizeAndExecute(page, authorizeButton, root, unscopedToken, screenshot);

  const failures = [];
  if (scopedStatus !== '200') failures.push(`token with the scope got ${scopedStatus}, expected 200`);
  if (unscopedStatus !== '403') failures.push(`token without the scope got ${unscopedStatus}, expected 403`);
  if (outside.length > 0) failures.push(`requests to other hosts: ${outside.join(', ')}`);
  if (failures.length > 0) {
    console.error(failures.join('\n'));
    process.exitCode = 1;
  } else {
    console.log(`Swagger UI: 200 with the scope, 403 without it; screenshot at ${screenshot}`);
  }
} finally {
  await browser.close();
}

// Replaces the token in the Authorize dialog, runs the request and returns its status text;
// with `screenshotPath`, saves a screenshot of the response first.
async function authorizeAndExecute(page, authorizeButton, operation, token, screenshotPath) {
  await authorizeButton.click();
  const dialog = page.locator('.dialog-ux .modal-ux');
  // Once authorized, the dialog offers Logout in place of the token field.
  const logout = dialog.locator('button.modal-btn.auth', { hasText: 'Logout' });
  if (await logout.count()) {
    await logout.first().click();
  }
  await dialog.locator('#auth-bearer-value').fill(token);
  await dialog.locator('button.modal-btn.auth.authorize').click();
  await dialog.locator('button.modal-btn.btn-done').click();

  await operation.getByRole('button', { name: 'Execute' }).click();
  const status = operation.locator('.live-responses-table tr.response td.response-col_status').first();
  await status.waitFor({ timeout: 30_000 });
  const text = (await status.innerText()).trim();
  if (screenshotPath) {
    await page.screenshot({ path: screenshotPath, fullPage: true });
  }
  // Clear the response, so the next run waits for a new one.
  const clear = operation.getByRole('button', { name: 'Clear' });
  if (await clear.count()) {
    await clear.first().click();
  }
  return text.split(/\s/)[0];
}
