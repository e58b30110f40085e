import { describe, expect, it } from 'vitest';
import { CancelledError, GpuDeviceLostError } from '../../src/core/errors';
import { abortable, SubmissionPacer } from '../../src/gpu/readback';

/** A queue whose submissions finish only when the test says so. */
class SlowQueue {
  submitted = 0;
  private waiters: { after: number; resolve: () => void }[] = [];
  finished = 0;
  submit(): void {
    this.submitted++;
  }
  onSubmittedWorkDone(): Promise<void> {
    const after = this.submitted;
    return new Promise((resolve) => this.waiters.push({ after, resolve }));
  }
  finish(count: number): void {
    this.finished += count;
    for (const w of this.waiters.filter((w) => w.after <= this.finished)) w.resolve();
    this.waiters = this.waiters.filter((w) => w.after > this.finished);
  }
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('abortable GPU waits', () => {
  it('rejects with CancelledError as soon as the signal fires, while the GPU promise is still pending', async () => {
    const controller = new AbortController();
    const never = new Promise<number>(() => undefined);
    const raced = abortable(never, controller.signal);
    controller.abort();
    await expect(raced).rejects.toBeInstanceOf(CancelledError);
  });

  it('rejects with the signal reason when it is one of ours (device lost), and at once when already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new GpuDeviceLostError('The GPU device was lost: destroyed', 'destroyed'));
    await expect(abortable(new Promise(() => undefined), controller.signal)).rejects.toBeInstanceOf(GpuDeviceLostError);
  });

  it('passes values and errors through, and swallows a late rejection of the raced promise', async () => {
    const controller = new AbortController();
    await expect(abortable(Promise.resolve(7), controller.signal)).resolves.toBe(7);
    await expect(abortable(Promise.reject(new Error('map failed')), controller.signal)).rejects.toThrow('map failed');
    let rejectLate!: (e: Error) => void;
    const late = new Promise<void>((_, reject) => (rejectLate = reject));
    const raced = abortable(late, controller.signal);
    controller.abort();
    await expect(raced).rejects.toBeInstanceOf(CancelledError);
    rejectLate(new Error('buffer destroyed while mapping')); // must not surface as an unhandled rejection
    await tick();
  });
});

describe('SubmissionPacer', () => {
  it('keeps at most `depth` submissions in flight and stops at once on abort', async () => {
    const queue = new SlowQueue();
    const device = { queue } as unknown as GPUDevice;
    const controller = new AbortController();
    const pacer = new SubmissionPacer(device, controller.signal, 2);
    await pacer.submit([]);
    await pacer.submit([]);
    let third = false;
    const p3 = pacer.submit([]).then(() => (third = true));
    await tick();
    expect(queue.submitted).toBe(3);
    expect(third).toBe(false); // waits for the first to finish
    queue.finish(1);
    await p3;
    expect(third).toBe(true);
    const p4 = pacer.submit([]);
    await tick();
    controller.abort();
    await expect(p4).rejects.toBeInstanceOf(CancelledError);
    await expect(pacer.submit([])).rejects.toBeInstanceOf(CancelledError);
    expect(queue.submitted).toBe(4); // nothing submitted after the abort
  });
});
