import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';

/**
 * Records layout shifts (CLS, as Chromium scores them) from the first paint on; `cls(page)` reads
 * the sum since the last `resetCls(page)`.
 */
export async function watchLayoutShifts(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const w = window as unknown as { __cls: number };
    w.__cls = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries() as unknown as { value: number; hadRecentInput: boolean }[])
        if (!e.hadRecentInput) w.__cls += e.value;
    }).observe({ type: 'layout-shift', buffered: true });
  });
}

export const resetCls = (page: Page) =>
  page.evaluate(() => ((window as unknown as { __cls: number }).__cls = 0));
export const cls = (page: Page) => page.evaluate(() => (window as unknown as { __cls: number }).__cls);

/** Nothing wider than the screen: the page never scrolls sideways (tables scroll inside themselves). */
export async function noSidewaysScroll(page: Page, what: string): Promise<void> {
  const { scroll, inner, wide } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    inner: window.innerWidth,
    // the innermost elements reaching past the screen's edge, to say what to fix
    wide: [...document.querySelectorAll<HTMLElement>('body *')]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
      .filter((e) => ![...e.children].some((c) => c.getBoundingClientRect().right > window.innerWidth + 1))
      .slice(0, 5)
      .map((e) => `${e.tagName.toLowerCase()}.${e.className}: ${(e.textContent ?? '').slice(0, 40)}`),
  }));
  assert.ok(
    scroll <= inner,
    `${what}: the page is ${scroll} px wide on a ${inner} px screen: ${wide.join(' | ')}`,
  );
}

/** Focus stays inside the open dialog however far Tab goes; Escape closes it. */
export async function dialogTrapsFocus(page: Page): Promise<void> {
  const dialog = page.locator('dialog[open]');
  await dialog.waitFor();
  for (let i = 0; i < 6; i++) {
    await page.keyboard.press('Tab');
    assert.ok(
      await page.evaluate(() => Boolean(document.activeElement?.closest('dialog[open]'))),
      'focus stays in the dialog',
    );
  }
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
}

/** Tab from the top reaches the first nav link and draws a visible focus ring on it. */
export async function focusIsVisible(page: Page): Promise<void> {
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await page.keyboard.press('Tab');
  const ring = await page.evaluate(() => {
    const el = document.activeElement as HTMLElement;
    const s = getComputedStyle(el);
    return { tag: el.tagName, outline: s.outlineStyle, width: s.outlineWidth };
  });
  assert.ok(['A', 'BUTTON'].includes(ring.tag), `Tab reaches a link or button first, not ${ring.tag}`);
  assert.notEqual(ring.outline, 'none', 'the focused control shows a focus ring');
}

/** Every clickable thing is a real control: no div or span with a click handler in its place. */
export async function onlyRealControls(page: Page): Promise<void> {
  const odd = await page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('[tabindex], [role=button]')]
      .filter((e) => !['A', 'BUTTON', 'INPUT', 'SELECT', 'TEXTAREA', 'DIALOG'].includes(e.tagName))
      .map((e) => e.outerHTML.slice(0, 80)),
  );
  assert.deepEqual(odd, [], 'every action is a button or a link');
}
