// Where heart-rate readings come from: a Bluetooth heart-rate monitor through Web Bluetooth, or a simulated
// device replaying the seeded wearable generator (for demonstrations and tests). Both call `onReading`.
import { wearableStream } from '../../../core/records/index.ts';
import { HEART_RATE_MEASUREMENT, HEART_RATE_SERVICE, parseHeartRateMeasurement, type HeartRateMeasurement } from './heart-rate-measurement.ts';

export interface HeartRateSource {
  readonly name: string;
  stop(): void;
}

export interface Reading {
  readonly time: number;
  readonly bpm: number;
  readonly contact: HeartRateMeasurement['contact'];
}

// The part of Web Bluetooth used here (not yet in TypeScript's DOM library).
interface GattCharacteristic extends EventTarget {
  readonly value: DataView | null;
  startNotifications(): Promise<GattCharacteristic>;
  stopNotifications(): Promise<GattCharacteristic>;
}
interface BluetoothDeviceLike extends EventTarget {
  readonly name?: string;
  readonly gatt?: {
    connected: boolean;
    connect(): Promise<{ getPrimaryService(s: number): Promise<{ getCharacteristic(c: number): Promise<GattCharacteristic> }> }>;
    disconnect(): void;
  };
}
interface BluetoothLike {
  getAvailability?(): Promise<boolean>;
  requestDevice(o: { filters: { services: number[] }[] }): Promise<BluetoothDeviceLike>;
}

const bluetooth = (): BluetoothLike | undefined => (navigator as Navigator & { bluetooth?: BluetoothLike }).bluetooth;

/** Null when Web Bluetooth can be used here; otherwise why not, in plain words. */
export async function bluetoothUnavailable(): Promise<string | null> {
  const bt = bluetooth();
  if (!bt) {
    return window.isSecureContext
      ? 'This browser cannot talk to Bluetooth devices (Web Bluetooth is missing). Use Chrome or Edge on Android, Windows, macOS or ChromeOS, or use the simulated device.'
      : 'Bluetooth devices can only be used over a secure (https) connection.';
  }
  if (bt.getAvailability && !(await bt.getAvailability().catch(() => true))) return 'This device has no Bluetooth adapter, or Bluetooth is switched off.';
  return null;
}

/** Asks the person to pick a heart-rate monitor, connects, and streams its measurements. */
export async function connectBluetoothMonitor(onReading: (r: Reading) => void, onGone: () => void, onBad: () => void): Promise<HeartRateSource> {
  const bt = bluetooth();
  if (!bt) throw new Error('Web Bluetooth is missing');
  const device = await bt.requestDevice({ filters: [{ services: [HEART_RATE_SERVICE] }] });
  if (!device.gatt) throw new Error('that device offers no GATT server');
  const server = await device.gatt.connect();
  const service = await server.getPrimaryService(HEART_RATE_SERVICE);
  const characteristic = await service.getCharacteristic(HEART_RATE_MEASUREMENT);
  const onValue = () => {
    if (!characteristic.value) return;
    try {
      const m = parseHeartRateMeasurement(characteristic.value);
      onReading({ time: Date.now(), bpm: m.bpm, contact: m.contact });
    } catch {
      onBad();
    }
  };
  characteristic.addEventListener('characteristicvaluechanged', onValue);
  device.addEventListener('gattserverdisconnected', onGone);
  await characteristic.startNotifications();
  return {
    name: device.name ?? 'Heart-rate monitor',
    stop() {
      characteristic.removeEventListener('characteristicvaluechanged', onValue);
      device.removeEventListener('gattserverdisconnected', onGone);
      void characteristic.stopNotifications().catch(() => undefined);
      device.gatt?.disconnect();
    },
  };
}

/**
 * A simulated monitor: the seeded wearable stream's heart-rate samples of the last `minutes`, replayed one
 * every `intervalMs` (faster than real time, so a demonstration shows an hour in seconds). Sensor errors
 * (no value) are skipped, as a real monitor sends nothing then; motion artifacts come through as they would.
 */
export function startSimulatedMonitor(opts: { seed: number; minutes: number; intervalMs: number }, onReading: (r: Reading) => void, onEnd: () => void): HeartRateSource {
  const minute = 60_000;
  const start = Math.floor(Date.now() / minute) * minute - opts.minutes * minute;
  const { observations } = wearableStream({
    seed: opts.seed,
    patientId: 'simulated-patient',
    deviceId: 'simulated-hrm',
    start,
    durationMs: opts.minutes * minute,
    faultRate: 0.02,
  });
  const samples = observations
    .filter((o) => o.code.coding?.some((c) => c.code === '8867-4') && typeof o.valueQuantity?.value === 'number')
    .map((o) => ({ time: Date.parse(o.effectiveDateTime!), bpm: o.valueQuantity!.value!, contact: 'detected' as const }));
  let i = 0;
  const timer = setInterval(() => {
    if (i >= samples.length) {
      clearInterval(timer);
      onEnd();
      return;
    }
    onReading(samples[i++]!);
  }, opts.intervalMs);
  return { name: `Simulated monitor (seed ${opts.seed})`, stop: () => clearInterval(timer) };
}
