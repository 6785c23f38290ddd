// Credentials for git, and how they are masked.
import { describe, expect, it } from 'vitest';
import { authConfig, credentialsFrom, splitUrlCredentials } from '../../../src/pipeline/git/credentials.js';
import { mask, registerSecret } from '../../../src/pipeline/shared/mask.js';

describe('credentials and mask()', () => {
  it('masks a token in every form it travels in', () => {
    const creds = credentialsFrom({ env: { AVIARY_GIT_TOKEN: 'tok-123456', AVIARY_GIT_USERNAME: 'ci' } })!;
    expect(creds).toEqual({ username: 'ci', token: 'tok-123456' });
    const header = authConfig(creds)[0]!;
    expect(header).toBe(`http.extraHeader=Authorization: Basic ${Buffer.from('ci:tok-123456').toString('base64')}`);
    expect(mask(`failed: ${header} tok-123456 ${encodeURIComponent('tok-123456')}`)).toBe('failed: http.extraHeader=Authorization: Basic *** *** ***');
    registerSecret('p@ss/word!');
    expect(mask('https://x:p%40ss%2Fword!@host')).toBe('https://x:***@host');
  });

  it('takes credentials out of a URL, and leaves other URLs alone', () => {
    expect(splitUrlCredentials('https://bot:s3cr3t-value@git.example.com/acme/m.git')).toEqual({
      url: 'https://git.example.com/acme/m.git',
      credentials: { username: 'bot', token: 's3cr3t-value' },
    });
    expect(mask('s3cr3t-value')).toBe('***');
    expect(splitUrlCredentials('git@github.com:acme/m.git')).toEqual({ url: 'git@github.com:acme/m.git' });
    expect(credentialsFrom({ env: {} })).toBeUndefined();
  });
});
