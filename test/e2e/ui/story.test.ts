// A clinic nurse and a patient, end to end in real Chromium against the real node (`npm start`'s relay, a
// fresh development consortium, four clinic tablets forming the ledger over WebRTC, one phone): import a
// Synthea bundle through the file picker, find the patient, link the phone with the code, grant and revoke
// consent by the buttons while another clinic asks for the records, read the audit trail verified on the
// phone, feed the chart from the simulated heart-rate monitor, and hold a video consult on Chromium's fake
// camera. Every screen is walked at tablet and phone sizes with axe-core and a screenshot.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkScreen, go, openClinic, openPhone, PHONE, startStack, SYNTHEA, TABLET, type Stack } from './stack.ts';

const BUNDLE = readdirSync(SYNTHEA).find((f) => f.startsWith('Bibi254'))!;
const SECOND = readdirSync(SYNTHEA).find((f) => f.startsWith('Cris921'))!;
const PATIENT = 'Bibi254 Schowalter414';
const CLINIC_SCREENS = ['Records', 'Access', 'Agreements', 'Consortium', 'Learning', 'Security', 'Consults', 'Wearables'];
const PHONE_SCREENS = ['My records', 'Consents', 'Audit trail', 'Consults'];
const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-');

let stack: Stack;
let clinic1: Page;
let clinic2: Page;
let phone: Page;
let patientId: string;
const others: Page[] = [];

/** Lets a screen finish its first fetches (no progress bar left). */
async function settled(page: Page): Promise<void> {
  await expect.poll(() => page.getByTestId('progress').count(), { timeout: 30_000 }).toBe(0);
}

/** Visits every screen at each size, checking each; the page is left at the first size. */
async function walkScreens(
  page: Page,
  who: 'clinic' | 'patient',
  screens: readonly string[],
  sizes: readonly (readonly [string, { readonly width: number; readonly height: number }])[],
): Promise<void> {
  for (const [size, viewport] of sizes) {
    await page.setViewportSize(viewport);
    for (const screen of screens) {
      await go(page, screen);
      await settled(page);
      await checkScreen(page, `${size}-${who}-${slug(screen)}`);
    }
  }
  await page.setViewportSize(sizes[0]![1]);
}

/** The patient grants `grantee` consent for treatment from the phone's Consents screen, and sees it live. */
async function grantTreatment(grantee: string): Promise<void> {
  await go(phone, 'Consents');
  await phone.getByTestId('grantee').selectOption(grantee);
  await phone.getByTestId('purpose').selectOption('TREAT');
  await phone.getByRole('button', { name: 'Grant consent', exact: true }).click();
  await phone.getByTestId('live-consents').getByTestId('consent').first().waitFor({ timeout: 90_000 });
}

beforeAll(async () => {
  stack = await startStack();
  // Four validators: the ledger commits with three (quorum of four), so all four are up before anything else.
  const pages = await Promise.all([1, 2, 3, 4].map((n) => openClinic(stack, n)));
  [clinic1, clinic2] = pages as [Page, Page];
  others.push(...pages.slice(2));
  phone = await openPhone(stack);
}, 240_000);

afterAll(async () => {
  await stack?.close();
});

describe('a clinic nurse and a patient', () => {
  it('shows the clinic’s navigation with exactly the eight screens', async () => {
    const names = await clinic1.getByRole('navigation').getByRole('link').allTextContents();
    expect(names.map((n) => n.trim())).toEqual(CLINIC_SCREENS);
    await checkScreen(clinic1, 'tablet-clinic-first-use');
  });

  it('imports a bundle through the file picker and finds the patient by name, birth date and identifier', async () => {
    await go(clinic1, 'Records');
    await clinic1.getByTestId('bundle-input').setInputFiles(join(SYNTHEA, BUNDLE));
    const summary = clinic1.getByTestId('import-summary');
    await summary.waitFor({ timeout: 120_000 });
    expect(await summary.getByTestId('imported-row').count()).toBeGreaterThan(3);
    await expect.poll(() => clinic1.getByTestId('patient-row').getByRole('link', { name: PATIENT }).count(), { timeout: 30_000 }).toBe(1);
    patientId = (await clinic1.getByTestId('patient-row').filter({ hasText: PATIENT }).getAttribute('data-patient'))!;
    await checkScreen(clinic1, 'tablet-clinic-records-imported');

    const search = clinic1.getByTestId('patient-search');
    for (const q of ['Schowalter', '2009-04-29', '475d72ca-91c7-7211-97e3-f000af33fc04']) {
      await search.fill(q);
      await expect.poll(() => clinic1.getByTestId('patient-row').getByRole('link', { name: PATIENT }).count(), { timeout: 15_000 }).toBe(1);
    }
    await search.fill('Nobody-by-this-name');
    await expect.poll(() => clinic1.getByTestId('patient-row').count(), { timeout: 15_000 }).toBe(0);
    await search.fill('');
  });

  it('opens the patient’s chart', async () => {
    await clinic1.getByTestId('patient-row').getByRole('link', { name: PATIENT }).click();
    await expect.poll(() => clinic1.getByTestId('patient-name').textContent(), { timeout: 30_000 }).toBe(PATIENT);
    expect(await clinic1.getByTestId('conditions').locator('li').count()).toBeGreaterThan(0);
    expect(await clinic1.getByTestId('timeline-item').count()).toBeGreaterThan(0);
    expect(await clinic1.getByTestId('vital-tile').count()).toBeGreaterThan(0);
    await checkScreen(clinic1, 'tablet-clinic-chart');
  });

  it('links the patient’s phone with the one-time code typed in', async () => {
    await clinic1.getByTestId('enrol').click();
    const code = (await clinic1.getByTestId('enrol-code').getAttribute('data-code', { timeout: 60_000 }))!;
    expect(await clinic1.getByTestId('qr').isVisible()).toBe(true);
    await checkScreen(clinic1, 'tablet-clinic-enrol');

    await phone.getByRole('heading', { name: 'Link to my clinic' }).waitFor({ timeout: 30_000 });
    await checkScreen(phone, 'phone-patient-first-use');
    await phone.getByTestId('link-code').fill(code);
    await phone.getByTestId('link').click();
    await phone.getByRole('heading', { name: 'My records', level: 1 }).waitFor({ timeout: 90_000 });
    const names = await phone.getByRole('navigation').getByRole('link').allTextContents();
    expect(names.map((n) => n.trim())).toEqual(PHONE_SCREENS);
  });

  it('grants consent by the button, and the other clinic is permitted', async () => {
    await grantTreatment('clinic-2');
    await checkScreen(phone, 'phone-patient-consent-granted');

    await go(clinic2, 'Access');
    const granted = clinic2.getByTestId('granted-consent');
    await expect.poll(() => granted.count(), { timeout: 60_000 }).toBe(1);
    await granted.getByRole('button', { name: 'Use in a request' }).click();
    await clinic2.getByTestId('request').click();
    const decision = clinic2.getByTestId('decision');
    await decision.waitFor({ timeout: 90_000 });
    expect(await decision.getAttribute('data-decision')).toBe('permit');
    await checkScreen(clinic2, 'tablet-clinic-access-permitted');
  });

  it('revokes consent by the button, and the same request is then denied', async () => {
    await phone.getByTestId('live-consents').getByTestId('revoke').first().click();
    await expect.poll(() => phone.getByTestId('live-consents').getByTestId('consent').count(), { timeout: 90_000 }).toBe(0);
    await checkScreen(phone, 'phone-patient-consent-revoked');

    await expect.poll(() => clinic2.getByTestId('granted-consent').count(), { timeout: 60_000 }).toBe(0);
    await clinic2.getByTestId('request').click();
    await expect.poll(() => clinic2.getByTestId('decision').getAttribute('data-decision'), { timeout: 90_000 }).toBe('deny');
    await checkScreen(clinic2, 'tablet-clinic-access-denied');
  });

  it('shows both decisions in the phone’s audit trail, verified on the phone', async () => {
    await go(phone, 'Audit trail');
    const entries = phone.locator('[data-testid=audit-entry][data-actor=clinic-2]');
    await expect.poll(() => entries.count(), { timeout: 90_000 }).toBe(2);
    await expect.poll(() => phone.locator('[data-testid=audit-entry][data-actor=clinic-2][data-verified=true]').count(), { timeout: 90_000 }).toBe(2);
    expect((await entries.evaluateAll((els) => els.map((e) => e.getAttribute('data-decision')))).sort()).toEqual(['deny', 'permit']);
    await checkScreen(phone, 'phone-patient-audit-trail');
  });

  it('stores the simulated wearable’s readings in the patient’s chart', async () => {
    await go(clinic1, 'Wearables');
    await clinic1.getByTestId('wearable-patient').selectOption(patientId);
    await clinic1.getByTestId('wearable-simulate').click();
    await expect.poll(async () => Number(await clinic1.getByTestId('wearable-stored').locator('.value').textContent()), { timeout: 120_000 }).toBeGreaterThanOrEqual(30);
    await checkScreen(clinic1, 'tablet-clinic-wearables-live');
    // The simulated monitor's two hours of readings may have ended already on a busy machine.
    const stop = clinic1.getByTestId('wearable-stop');
    if (await stop.isVisible()) await stop.click();
    await clinic1.getByTestId('wearable-done').waitFor({ timeout: 30_000 });
    const stored = Number(await clinic1.getByTestId('wearable-stored').locator('.value').textContent());

    await clinic1.getByTestId('wearable-done').getByRole('link').click();
    const tile = clinic1.locator('[data-testid=vital-tile][data-code="8867-4"]');
    await expect.poll(async () => Number(await tile.getAttribute('data-count')), { timeout: 30_000 }).toBeGreaterThanOrEqual(stored);
    await clinic1.getByTestId('vital-8867-4').waitFor();
    await checkScreen(clinic1, 'tablet-clinic-chart-with-wearable');
  });

  it('refuses a consult while the patient has given this clinic no consent for treatment', async () => {
    await go(clinic1, 'Consults');
    await clinic1.getByTestId('consult-patient').selectOption(patientId);
    await clinic1.getByTestId('consult-start').click();
    await clinic1.getByTestId('media-video').click();
    const error = clinic1.getByTestId('consult-error');
    await error.waitFor({ timeout: 60_000 });
    expect(await error.textContent()).toMatch(/consent/i);
    await checkScreen(clinic1, 'tablet-clinic-consult-refused');
  });

  it('connects a consult on the fake camera once consent is given, and records it as a visit', async () => {
    await grantTreatment('clinic-1');
    await go(phone, 'Consults');

    await clinic1.getByTestId('consult-start').click();
    await clinic1.getByTestId('media-video').click();
    await phone.getByTestId('media-permission').waitFor({ timeout: 60_000 });
    await checkScreen(phone, 'phone-patient-consult-incoming');
    await phone.getByTestId('media-video').click();

    for (const p of [clinic1, phone]) {
      await expect.poll(() => p.getByTestId('call').getAttribute('data-phase'), { timeout: 60_000 }).toBe('live');
      await expect.poll(() => p.getByTestId('remote-video').evaluate((v: HTMLVideoElement) => v.videoWidth), { timeout: 60_000 }).toBeGreaterThan(0);
    }
    await checkScreen(clinic1, 'tablet-clinic-consult-live');
    await checkScreen(phone, 'phone-patient-consult-live');

    await clinic1.getByTestId('end-call').click();
    const recorded = clinic1.getByTestId('consult-recorded');
    await recorded.waitFor({ timeout: 60_000 });
    await expect.poll(() => clinic1.locator('[data-testid=past-consult]').first().getAttribute('data-encounter'), { timeout: 30_000 }).toMatch(/.+/);
    const virtual = await clinic1.evaluate(async (id) => {
      const h = (window as unknown as { hygeia: { patientChart(id: string): Promise<{ encounters: { class?: { code?: string } }[] }> } }).hygeia;
      return (await h.patientChart(id)).encounters.filter((e) => e.class?.code === 'VR').length;
    }, patientId);
    expect(virtual).toBe(1);
  });

  it('walks every clinic screen at tablet and phone sizes with no serious accessibility violation', async () => {
    await walkScreens(clinic1, 'clinic', CLINIC_SCREENS, [
      ['tablet', TABLET],
      ['phone', PHONE],
    ]);
  });

  it('walks every phone screen at phone and tablet sizes with no serious accessibility violation', async () => {
    await walkScreens(phone, 'patient', PHONE_SCREENS, [
      ['phone', PHONE],
      ['tablet', TABLET],
    ]);
  });

  it('imports a bundle dropped on the import panel', async () => {
    await go(clinic1, 'Records');
    const text = readFileSync(join(SYNTHEA, SECOND), 'utf8');
    await clinic1.getByTestId('drop-zone').evaluate(
      (zone, [name, json]) => {
        const dt = new DataTransfer();
        dt.items.add(new File([json], name, { type: 'application/json' }));
        zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
        zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      },
      [SECOND, text] as const,
    );
    await expect.poll(() => clinic1.locator(`[data-testid=import-job][data-state=done] h3`).allTextContents(), { timeout: 120_000 }).toContain(SECOND);
    await expect.poll(() => clinic1.getByTestId('patient-row').count(), { timeout: 30_000 }).toBe(2);
  });

  it('erases a patient only after the confirmation is typed', async () => {
    await go(clinic1, 'Records');
    await clinic1.getByTestId('patient-row').getByRole('link', { name: PATIENT }).click();
    await clinic1.getByTestId('erase').click();
    const confirm = clinic1.getByTestId('confirm');
    expect(await confirm.isDisabled()).toBe(true);
    await checkScreen(clinic1, 'tablet-clinic-erase-confirm');
    await clinic1.getByTestId('confirm-input').fill('ERASE');
    await confirm.click();
    await clinic1.getByTestId('erase-patient').getByRole('status').filter({ hasText: 'were erased' }).waitFor({ timeout: 60_000 });
  });

  it('raised no uncaught error in any page', () => {
    expect(stack.pageErrors).toEqual([]);
  });
});
