/**
 * When the tray's "Pause schedules" ends. "Until tomorrow" means until tomorrow morning, 08:00 on
 * this computer's clock: paused in the evening, tonight's run is skipped — which is what someone
 * who pauses at 18:00 wants — and the next night's runs as usual.
 */
export function pauseEnd(choice: 'in-1-hour' | 'tomorrow', now: Date): Date {
  if (choice === 'in-1-hour') return new Date(now.getTime() + 3_600_000);
  const end = new Date(now);
  end.setDate(end.getDate() + 1);
  end.setHours(8, 0, 0, 0);
  return end;
}
