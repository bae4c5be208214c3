/**
 * What an image build says, as kept by BuildOutput: the build API's messages cut anywhere
 * joined back into lines, the last lines, the engine's error, and the container of the step
 * running now (removed when a build is cancelled).
 */
import { describe, expect, it } from 'vitest';
import { isGeneratedLabel, labelledDockerfile } from '../../../daemon/src/deploy/build-context';
import { BuildOutput } from '../../../daemon/src/deploy/build-output';
import { failedStepText } from '../../../daemon/src/deploy/diagnosis';

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

  it('knows the step of the user\'s Dockerfile that ran last and what it printed, not counting the generated LABEL', () => {
    const generated = labelledDockerfile('FROM node:20\nCOPY . /app\nRUN npm install\n', { 'branchbox.managed': 'true', 'branchbox.base': 'false' }).split('\n');
    expect(generated[1]).toMatch(/^LABEL /);
    const out = new BuildOutput(() => undefined, 12, isGeneratedLabel);
    const steps = generated.filter(Boolean).map((l, i, all) => `Step ${i + 1}/${all.length} : ${l}`);
    out.take({ stream: `${steps[0]}\n ---> 0123456789ab\n${steps[1]}\n ---> Running in ${STEP}\nRemoving intermediate container ${STEP}\n` });
    expect(out.lastStep).toEqual({ number: 1, instruction: 'FROM node:20', output: [] });
    out.take({ stream: `${steps[2]}\n ---> 1123456789ab\n${steps[3]}\n ---> Running in ${STEP}\n\u001b[91m/bin/sh: 1: npm: not found\n\u001b[0m` });
    out.end();
    expect(out.lastStep).toEqual({ number: 3, instruction: 'RUN npm install', output: ['\u001b[91m/bin/sh: 1: npm: not found', '\u001b[0m'] });
  });
});

describe('failedStepText', () => {
  const step = (output: string[], instruction = 'RUN npm install') => ({ number: 3, instruction, output });
  const nonZero = "The command '/bin/sh -c npm install' returned a non-zero code: 127";

  it('says the cause in one plain line, naming the step and its instruction', () => {
    expect(failedStepText(nonZero, step(['\u001b[91m/bin/sh: 1: npm: not found', '\u001b[0m']))).toBe('npm: not found (Dockerfile step 3: RUN npm install)');
    expect(failedStepText(nonZero, step(['/bin/sh: npm: not found']))).toBe('npm: not found (Dockerfile step 3: RUN npm install)');
  });

  it('prefers the last line that reads like a reason to lines printed after it', () => {
    const said = ['added 3 packages', 'npm ERR! missing script: build', 'npm ERR! A complete log of this run can be found in: /root/.npm/x.log'];
    expect(failedStepText(nonZero, step(said))).toBe('npm ERR! missing script: build (Dockerfile step 3: RUN npm install)');
    expect(failedStepText(nonZero, step(['compiling', 'done, 2 warnings']))).toBe('done, 2 warnings (Dockerfile step 3: RUN npm install)');
  });

  it('gives the exit code when the step printed nothing, and the engine\'s error for a step that is not a failed command', () => {
    expect(failedStepText("The command '/bin/sh -c false' returned a non-zero code: 1", step([], 'RUN false'))).toBe('exited with code 1 (Dockerfile step 3: RUN false)');
    expect(failedStepText('COPY failed: file not found in build context: missing.txt', step([], 'COPY missing.txt /app/'))).toBe(
      'COPY failed: file not found in build context: missing.txt (Dockerfile step 3: COPY missing.txt /app/)',
    );
  });

  it('cuts a long instruction', () => {
    const text = failedStepText(nonZero, step(['boom: failed'], `RUN ${'x'.repeat(200)}`));
    expect(text).toMatch(/^boom: failed \(Dockerfile step 3: RUN x+…\)$/);
    expect(text.length).toBeLessThan(120);
  });
});

describe('isGeneratedLabel', () => {
  it('knows the LABEL the generated Dockerfile adds, and no user instruction', () => {
    const label = labelledDockerfile('FROM a\n', { 'branchbox.test': 'x', 'branchbox.managed': 'true', 'branchbox.base': 'false' }).split('\n')[1]!;
    expect(isGeneratedLabel(label)).toBe(true);
    expect(isGeneratedLabel('LABEL maintainer="me"')).toBe(false);
    expect(isGeneratedLabel('RUN echo \'"branchbox.managed"="true" "branchbox.base"="false"\'')).toBe(false);
  });
});
