/**
 * What an image build says, as kept by BuildOutput: the build API's messages cut anywhere
 * joined back into lines, the last lines, the engine's error, and the container of the step
 * running now (removed when a build is cancelled).
 */
import { describe, expect, it } from 'vitest';
import { BuildOutput } from '../../../daemon/src/deploy/build-output';

const STEP = 'a1b2c3d4e5f6';

function output(tailLength?: number) {
  const lines: string[] = [];
  return { lines, out: new BuildOutput((l) => lines.push(l), tailLength) };
}

describe('BuildOutput', () => {
  it('joins stream text cut anywhere into whole lines, drops empty ones, and ends with the text left', () => {
    const { lines, out } = output();
    out.take({ stream: 'Step 1/2 : FR' });
    out.take({ stream: 'OM busybox\r\n\n   \n ---> 1234' });
    out.take({ stream: '56789abc\nSuccessfully built' });
    out.take({ status: 'Pulling fs layer' });
    expect(lines).toEqual(['Step 1/2 : FROM busybox', ' ---> 123456789abc', 'Pulling fs layer']);
    out.end();
    expect(lines).toEqual(['Step 1/2 : FROM busybox', ' ---> 123456789abc', 'Pulling fs layer', 'Successfully built']);
  });

  it('keeps the last lines only, oldest first', () => {
    const { out } = output(3);
    for (let i = 1; i <= 5; i++) out.take({ stream: `line ${i}\n` });
    expect(out.lastLines()).toEqual(['line 3', 'line 4', 'line 5']);
  });

  it('keeps the engine error (errorDetail first), which is not an output line', () => {
    const { lines, out } = output();
    out.take({ error: 'short', errorDetail: { message: ' The command returned a non-zero code: 1\n' } });
    expect(out.error).toBe('The command returned a non-zero code: 1');
    out.take({ error: 'only this' });
    expect(out.error).toBe('only this');
    expect(lines).toEqual([]);
  });

  it('knows the container of the step running now, until the step ends', () => {
    const { out } = output();
    expect(out.stepContainer).toBeUndefined();
    out.take({ stream: `Step 2/3 : RUN sleep 60\n ---> Running in ${STEP}\n` });
    expect(out.stepContainer).toBe(STEP);
    out.take({ stream: 'still sleeping\n' });
    expect(out.stepContainer).toBe(STEP);
    out.take({ stream: `Removing intermediate container ${STEP}\n` });
    expect(out.stepContainer).toBeUndefined();
    out.take({ stream: ` ---> Running in ${STEP}\n ---> 0123456789ab\n` });
    expect(out.stepContainer).toBeUndefined();
  });
});
