// Camera and microphone for a consult. The browser asks the person; the screen explains first, in plain words.
export type MediaChoice = 'video' | 'audio' | 'chat';

export async function openMedia(choice: MediaChoice): Promise<MediaStream | null> {
  if (choice === 'chat') return null;
  if (!navigator.mediaDevices?.getUserMedia) throw new Error('This browser cannot use a camera or microphone here.');
  return navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: true, noiseSuppression: true },
    video: choice === 'video' ? { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: 'user' } : false,
  });
}

export function closeMedia(stream: MediaStream | null): void {
  for (const t of stream?.getTracks() ?? []) t.stop();
}
