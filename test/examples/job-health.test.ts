// examples/argocd/job-health.yaml, Argo CD's health of a Job for fleets that
// queue Jobs with Kueue, run in real Lua 5.1 (Argo CD's gopher-lua is a Lua
// 5.1) on Job statuses as the Job controller and Kueue leave them. What it
// must get right: the sync wave after a Job starts only once the Job is
// Complete, never while it is queued or running.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const file = new URL('../../examples/argocd/job-health.yaml', import.meta.url);
const script: string = parse(readFileSync(file, 'utf8')).data['resource.customizations.health.batch_Job'];

/** A JSON value as a Lua table constructor (what Argo CD hands the script as `obj`). */
function lua(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `{${value.map(lua).join(', ')}}`;
  return `{${Object.entries(value as Record<string, unknown>).map(([k, v]) => `[${JSON.stringify(k)}] = ${lua(v)}`).join(', ')}}`;
}

function health(job: Record<string, unknown>): { status: string; message: string } {
  const chunk = `obj = ${lua(job)}\nlocal hs = (function()\n${script}\nend)()\nio.write(hs.status, "\\t", hs.message or "")`;
  const [status, message] = execFileSync('lua5.1', ['-'], { input: chunk, encoding: 'utf8' }).split('\t');
  return { status, message };
}

const job = (status?: Record<string, unknown>, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'alpha-install-0123456789', labels: { 'kueue.x-k8s.io/queue-name': 'aviary-jobs' } },
  spec: { backoffLimit: 3, ...spec },
  ...(status ? { status } : {}),
});
const condition = (type: string, status: 'True' | 'False', reason: string, message = '') => ({ type, status, reason, message, lastTransitionTime: '2026-11-30T01:00:00Z' });

describe('examples/argocd/job-health.yaml', () => {
  it('is a patch of argocd-cm holding only the Job health check', () => {
    expect(Object.keys(parse(readFileSync(file, 'utf8')))).toEqual(['data']);
    expect(script).toContain('return hs');
  });

  it.each([
    ['just created, no status yet', job(), 'Progressing'],
    ['queued: suspended by Kueue on create', job({ conditions: [condition('Suspended', 'True', 'JobSuspended', 'Job suspended')] }, { suspend: true }), 'Progressing'],
    // Argo CD's built-in check calls this one Healthy: the case the patch exists for.
    ['admitted and running: Suspended=False, a pod active', job({ active: 1, startTime: '2026-11-30T01:01:00Z', conditions: [condition('Suspended', 'False', 'JobResumed', 'Job resumed')] }), 'Progressing'],
    ['a pod failed, retrying within backoffLimit', job({ active: 1, failed: 1, conditions: [condition('Suspended', 'False', 'JobResumed')] }), 'Progressing'],
    ['success criteria met, pods still finishing (Kubernetes 1.31+)', job({ active: 0, succeeded: 1, conditions: [condition('SuccessCriteriaMet', 'True', 'CompletionsReached')] }), 'Progressing'],
    ['complete', job({ succeeded: 1, conditions: [condition('Suspended', 'False', 'JobResumed'), condition('SuccessCriteriaMet', 'True', 'CompletionsReached'), condition('Complete', 'True', 'CompletionsReached', 'Reached expected number of succeeded pods')] }), 'Healthy'],
    ['complete without Kueue', job({ succeeded: 1, conditions: [condition('Complete', 'True', '')] }), 'Healthy'],
    ['failed: backoff limit exceeded', job({ failed: 4, conditions: [condition('FailureTarget', 'True', 'BackoffLimitExceeded'), condition('Failed', 'True', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit')] }), 'Degraded'],
    ['failed: deadline exceeded', job({ failed: 1, conditions: [condition('Failed', 'True', 'DeadlineExceeded', 'Job was active longer than specified deadline')] }), 'Degraded'],
  ])('%s: %s', (_, object, expected) => {
    expect(health(object).status).toBe(expected);
  });

  it('says why a Job waits and why it failed', () => {
    expect(health(job({ conditions: [condition('Suspended', 'True', 'JobSuspended')] })).message).toMatch(/Kueue/);
    expect(health(job({ conditions: [condition('Failed', 'True', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit')] })).message).toBe('Job has reached the specified backoff limit');
  });
});
