// Masking secrets in everything the process writes.
import { describe, expect, it } from 'vitest';
import { mask, maskStream, maskUrlCredentials, registerEnvironmentSecrets, registerSecret } from '../../../src/pipeline/shared/mask.js';
import { secretVariables } from '../../../src/pipeline/options/catalogue.js';

describe('mask()', () => {
  it('masks credentials written into any URL, keeping an ssh user', () => {
    expect(maskUrlCredentials('fetching http://bot:t0k3n-value@h/m.git and https://ghp_abcdef@github.com/a/b.git')).toBe(
      'fetching http://bot:***@h/m.git and https://***@github.com/a/b.git',
    );
    expect(maskUrlCredentials('mysql://admin:pw-in-url@db:3306 ssh://git@github.com/a/b.git')).toBe('mysql://admin:***@db:3306 ssh://git@github.com/a/b.git');
  });

  it('registers the secrets the environment hands the process, whatever later prints them', () => {
    registerEnvironmentSecrets({ AVIARY_MYSQL_URL: 'mysql://admin:Adm1n%2Fpass@db:3306', AWS_SECRET_ACCESS_KEY: 'test' }, secretVariables());
    // A library's debug line that prints the password on its own, encoded or not.
    expect(mask('connect db:3306 as admin with Adm1n/pass (Adm1n%2Fpass)')).toBe('connect db:3306 as admin with *** (***)');
    // A short stand-in key (a local emulator's "test") is no secret: masking it would garble ordinary words.
    expect(mask('latest test run')).toBe('latest test run');
  });

  it('masks everything written to a stream, except the ::add-mask:: lines that hand a secret to the runner', () => {
    registerSecret('stream-secret-42');
    let written = '';
    const stream = { write: (chunk: string) => ((written += chunk), true) } as unknown as NodeJS.WriteStream;
    maskStream(stream);
    stream.write('::add-mask::stream-secret-42\nerror: stream-secret-42 leaked\n');
    stream.write(Buffer.from('debug: stream-secret-42\n'));
    expect(written).toBe('::add-mask::stream-secret-42\nerror: *** leaked\ndebug: ***\n');
  });
});
