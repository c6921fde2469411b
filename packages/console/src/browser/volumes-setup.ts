import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';

/** Where the browser tests put the screenshots docs/console.md shows. */
export const SHOTS = fileURLToPath(new URL('../../../../docs/console/', import.meta.url));
// Generous: a TCG guest restarting on a machine shared with other suites may take minutes.
export const LONG = 360_000;

export async function logIn(page: Page, url: string, username: string, password: string): Promise<void> {
  await page.goto(url);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('header >> text=Log out');
}

/** Waits for the next job shown in `scope` to end; a failed one fails the test with its coded error. */
export async function jobEnds(page: Page, scope: string, previous: string | null): Promise<void> {
  const not = previous ? `:not([data-job-id="${previous}"])` : '';
  // A refusal (its coded error line) ends the wait too: the test then fails with it.
  const done = page.locator(
    `${scope} .job[data-state=Succeeded]${not}, ${scope} .job[data-state=Failed]${not}, ${scope} > .error`,
  );
  await done.first().waitFor({ timeout: LONG });
  const state = await done.first().getAttribute('data-state');
  assert.equal(state, 'Succeeded', await done.first().innerText());
}

/** The id of the job `scope` shows now, if any (so the next wait skips it). */
export const shownJob = (page: Page, scope: string): Promise<string | null> =>
  page
    .locator(`${scope} .job[data-job-id]`)
    .first()
    .getAttribute('data-job-id', { timeout: 1000 })
    .catch(() => null);
