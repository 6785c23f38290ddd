// A real WordPress for the tests of the reference web image: Debian's
// WordPress (/usr/share/wordpress, installed by scripts/ensure-wordpress.sh)
// with the reference wp-config.php of examples/image, served by PHP's
// built-in web server (`php -S`) as a web pod of a color would serve it, and
// PHP's command line with a site's Host, as WP-CLI runs in the Jobs.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { freePort, requireBinary, tailOf, waitUntil } from './ports.js';
import { REPO_ROOT } from './fixtures.js';

export const WORDPRESS_DIR = '/usr/share/wordpress';
/** The image's own wp-config.php: the contract's implementation under test. */
export const REFERENCE_CONFIG = join(REPO_ROOT, 'examples/image/wp-config.php');
/** What examples/image/Dockerfile deletes from WordPress: the setup wizard, which never loads wp-config.php. */
export const REMOVED_BY_IMAGE = ['wp-admin/setup-config.php'] as const;
/** A minimal classic theme the docroot ships (no theme comes with Debian's WordPress): it prints the site's title and id. */
export const TEST_THEME = 'aviary-test';

const HINT = 'install them with: bash scripts/ensure-wordpress.sh (Debian packages wordpress, php-cli, php-mysql)';

/** PHP's path, after checking that PHP has mysqli and that WordPress is there; throws what to install otherwise. */
export function requireWordPress(): string {
  const php = requireBinary('php', HINT);
  const modules = spawnSync(php, ['-m'], { encoding: 'utf8' }).stdout ?? '';
  if (!/^mysqli$/im.test(modules)) throw new Error(`PHP has no mysqli extension: ${HINT}`);
  if (!existsSync(join(WORDPRESS_DIR, 'wp-settings.php'))) throw new Error(`WordPress is not in ${WORDPRESS_DIR}: ${HINT}`);
  return php;
}

/**
 * A document root that is the image's /var/www/html: WordPress with the
 * reference wp-config.php, without what the image deletes, and with the test
 * theme. PHP resolves symlinks in __FILE__ and __DIR__, and WordPress finds
 * wp-config.php from them (wp-load.php: ABSPATH = __DIR__; wp-admin:
 * dirname(__DIR__)), so the top-level files and wp-admin are copies (10 MB);
 * wp-includes and the plugins, reached through ABSPATH only, are symlinks.
 */
export function makeDocroot(dir: string, { config = REFERENCE_CONFIG }: { config?: string } = {}): string {
  mkdirSync(dir, { recursive: true });
  for (const entry of readdirSync(WORDPRESS_DIR)) {
    const from = join(WORDPRESS_DIR, entry);
    // Debian's wp-config.php (its own host lookup in /etc/wordpress) is replaced; its .htaccess is Apache's.
    if (entry === 'wp-config.php' || entry === '.htaccess') continue;
    if (entry === 'wp-includes') symlinkSync(from, join(dir, entry));
    else if (entry === 'wp-content') continue;
    else cpSync(from, join(dir, entry), { recursive: true, dereference: true });
  }
  for (const removed of REMOVED_BY_IMAGE) rmSync(join(dir, removed));
  cpSync(config, join(dir, 'wp-config.php'));

  mkdirSync(join(dir, 'wp-content/themes'), { recursive: true });
  symlinkSync(join(WORDPRESS_DIR, 'wp-content/plugins'), join(dir, 'wp-content/plugins'));
  const theme = join(dir, 'wp-content/themes', TEST_THEME);
  mkdirSync(theme);
  writeFileSync(join(theme, 'style.css'), `/*\nTheme Name: Aviary test\nVersion: 1.0\n*/\n`);
  writeFileSync(
    join(theme, 'index.php'),
    `<!doctype html>
<html><head><meta charset="utf-8"><title><?php echo esc_html(get_bloginfo('name')); ?></title>
<meta name="aviary-site" content="<?php echo defined('AVIARY_SITE_ID') ? esc_attr(AVIARY_SITE_ID) : ''; ?>">
<?php wp_head(); ?></head>
<body><h1><?php echo esc_html(get_bloginfo('name')); ?></h1><?php wp_footer(); ?></body></html>
`,
  );
  return dir;
}

/** PHP settings of every run: errors to the log (stderr), never into a response; no mail. */
const PHP_INI = ['-d', 'display_errors=0', '-d', 'log_errors=1', '-d', 'error_log=', '-d', 'sendmail_path=/bin/true'];

/** Only what PHP needs and the pod's environment: nothing of the test process (no AWS credentials). */
function phpEnv(env: Readonly<Record<string, string>>): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env };
}

export interface PhpServer {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  /** The server's own log (request lines and PHP errors), for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

/** `php -S 127.0.0.1:<free port> -t <docroot>` with the pod's environment; resolves once it answers. */
export async function startPhpServer(docroot: string, env: Readonly<Record<string, string>>): Promise<PhpServer> {
  const php = requireWordPress();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // A few workers, as a web server has: WordPress may call itself while a request waits.
  const server = spawnGroup(php, [...PHP_INI, '-S', `127.0.0.1:${port}`, '-t', docroot], { ...phpEnv(env), PHP_CLI_SERVER_WORKERS: '2' });
  const log = tailOf(server.child.stderr, 20_000);
  return answering(`php -S on ${url}`, url, port, server, log);
}

/** Waits until a server just started answers; stops it if it never does. */
async function answering(what: string, url: string, port: number, server: ServerGroup, log: () => string): Promise<PhpServer> {
  server.child.stdout?.resume();
  try {
    await waitUntil(
      what,
      async () => {
        await http(url, '/aviary-health');
        return true;
      },
      {
        timeoutMs: 15_000,
        gaveUp: () => {
          const reason = server.gone();
          return reason && `${reason}\n${log()}`.trim();
        },
      },
    );
  } catch (error) {
    await server.stop();
    throw error;
  }
  return { url, port, log, stop: server.stop };
}

interface ServerGroup {
  child: ChildProcess;
  /** Why the server is not running, or undefined while it runs. */
  gone(): string | undefined;
  stop(): Promise<void>;
}

/**
 * Starts a server in a process group of its own and stops it by that group:
 * `php -S` with workers and Apache fork children that outlive a signal to
 * their parent alone, and Apache signals its whole process group when it
 * shuts down (which would otherwise be the test runner's).
 */
function spawnGroup(command: string, args: readonly string[], env: Record<string, string>): ServerGroup {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // the group is gone already
    }
  };
  const killOnExit = () => signalGroup('SIGKILL');
  process.once('exit', killOnExit);
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  return {
    child,
    gone: () => {
      if (spawnError) return `could not start ${command}: ${spawnError.message}`;
      if (!exited()) return undefined;
      return `${command} exited with ${child.exitCode !== null ? `exit code ${child.exitCode}` : `signal ${child.signalCode}`}`;
    },
    stop: async () => {
      signalGroup('SIGTERM');
      if (!exited() && child.pid !== undefined) {
        await Promise.race([new Promise((r) => child.once('exit', r)), new Promise((r) => setTimeout(r, 5_000))]);
      }
      // Whatever is left of the group (workers, children) goes now.
      signalGroup('SIGKILL');
      process.removeListener('exit', killOnExit);
    },
  };
}

/** The image's Apache virtual host, as examples/image/Dockerfile installs it. */
export const REFERENCE_VHOST = join(REPO_ROOT, 'examples/image/apache-aviary.conf');
const APACHE_MODULES = '/usr/lib/apache2/modules';

/**
 * Apache with mod_php serving `docroot` through the image's own virtual host
 * (examples/image/apache-aviary.conf, its paths and port moved to the test's),
 * with the pod's environment: the web server of the image, as near as a test
 * gets without a container. Debian's wordpress package brings Apache and
 * mod_php. As root, its workers run as www-data like the image's, so the
 * docroot and the pod's files must be readable by www-data (the pod's
 * fsGroup gives the secret files to its group, see kubelet.ts).
 */
export async function startApache(docroot: string, env: Readonly<Record<string, string>>, workDir: string): Promise<PhpServer> {
  const apache = requireBinary('apache2', HINT, ['/usr/sbin']);
  if (!existsSync(join(APACHE_MODULES, 'libphp8.2.so')) && !readdirSync(APACHE_MODULES).some((m) => /^libphp/.test(m))) {
    throw new Error(`Apache's PHP module is not in ${APACHE_MODULES}: ${HINT}`);
  }
  const php = readdirSync(APACHE_MODULES).find((m) => /^libphp[0-9.]*\.so$/.test(m))!;
  const port = await freePort();
  mkdirSync(join(workDir, 'logs'), { recursive: true });
  const vhost = readFileSync(REFERENCE_VHOST, 'utf8').replaceAll('/srv/wordpress', docroot).replace('<VirtualHost *:80>', `<VirtualHost *:${port}>`);
  if (!vhost.includes(`<VirtualHost *:${port}>`)) throw new Error(`${REFERENCE_VHOST} has no <VirtualHost *:80>`);
  writeFileSync(join(workDir, 'aviary.conf'), vhost);
  const modules = ['mpm_prefork', 'authz_core', 'authz_host', 'dir', 'mime', 'alias', 'rewrite'];
  writeFileSync(
    join(workDir, 'httpd.conf'),
    [
      `ServerRoot ${workDir}`,
      `Define APACHE_LOG_DIR ${join(workDir, 'logs')}`,
      ...modules.map((m) => `LoadModule ${m}_module ${APACHE_MODULES}/mod_${m}.so`),
      `LoadModule php_module ${APACHE_MODULES}/${php}`,
      `Listen 127.0.0.1:${port}`,
      'ServerName localhost',
      `PidFile ${join(workDir, 'httpd.pid')}`,
      `Mutex file:${workDir}`,
      `ErrorLog ${join(workDir, 'logs/main-error.log')}`,
      'LogFormat "%h %l %u %t \\"%r\\" %>s %b" combined',
      'TypesConfig /etc/mime.types',
      'DirectoryIndex index.php index.html',
      'StartServers 2',
      'MinSpareServers 1',
      'MaxSpareServers 4',
      '<FilesMatch \\.php$>',
      '  SetHandler application/x-httpd-php',
      '</FilesMatch>',
      // The image's settings (php.ini of the official image: errors logged, not shown).
      'php_admin_flag display_errors off',
      'php_admin_value sendmail_path /bin/true',
      'User www-data',
      'Group www-data',
      `Include ${join(workDir, 'aviary.conf')}`,
      '',
    ].join('\n'),
  );
  const url = `http://127.0.0.1:${port}`;
  const server = spawnGroup(apache, ['-f', join(workDir, 'httpd.conf'), '-DFOREGROUND'], phpEnv(env));
  const out = tailOf(server.child.stderr, 20_000);
  const log = () => {
    const files = ['main-error.log', 'error.log', 'access.log'].map((f) => join(workDir, 'logs', f)).filter((f) => existsSync(f));
    return [out(), ...files.map((f) => readFileSync(f, 'utf8').split('\n').slice(-40).join('\n'))].filter(Boolean).join('\n');
  };
  return answering(`apache2 on ${url}`, url, port, server, log);
}

export interface PhpRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a PHP script with the command-line SAPI in `docroot`, with the pod's
 * environment, `input` on its standard input (secrets go there, not into
 * arguments or the environment).
 */
export function runPhp(docroot: string, script: string, env: Readonly<Record<string, string>>, input = ''): Promise<PhpRun> {
  const php = requireWordPress();
  return new Promise((resolve, reject) => {
    const child = spawn(php, [...PHP_INI, '-r', script], { cwd: docroot, env: phpEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(input);
  });
}

export interface InstallSite {
  /** The site's URL (`<scheme>://<canonical hostname>`), as the install Job passes it to `wp --url`. */
  url: string;
  title: string;
  admin: { username: string; email: string; password: string };
  /** Activated after the install, as the theme Job does. */
  theme?: string;
}

/**
 * Installs a site through WordPress's own installer, as `wp core install
 * --url=<url>` does: the Host (and HTTPS) from the URL, WP_INSTALLING,
 * wp-load.php (so wp-config.php finds the site by its Host), then
 * wp_install(). Nothing happens when the site is installed already.
 * Resolves to whether it installed.
 */
export async function installSite(docroot: string, env: Readonly<Record<string, string>>, site: InstallSite): Promise<boolean> {
  const script = `
    $in = json_decode(stream_get_contents(STDIN), true);
    $u = parse_url($in['url']);
    $_SERVER['HTTP_HOST'] = $u['host'] . (isset($u['port']) ? ':' . $u['port'] : '');
    $_SERVER['SERVER_NAME'] = $u['host'];
    $_SERVER['REQUEST_URI'] = '/';
    if ($u['scheme'] === 'https') { $_SERVER['HTTPS'] = 'on'; }
    define('WP_INSTALLING', true);
    require getcwd() . '/wp-load.php';
    require_once ABSPATH . 'wp-admin/includes/upgrade.php';
    if (is_blog_installed()) { echo json_encode(['installed' => false]); exit(0); }
    $r = wp_install($in['title'], $in['username'], $in['email'], true, '', wp_slash($in['password']));
    if (!empty($in['theme'])) {
      if (!wp_get_theme($in['theme'])->exists()) { fwrite(STDERR, "no theme {$in['theme']}\\n"); exit(2); }
      switch_theme($in['theme']);
    }
    echo json_encode(['installed' => true, 'user' => $r['user_id']]);
  `;
  const input = JSON.stringify({ url: site.url, title: site.title, theme: site.theme, ...site.admin });
  const run = await runPhp(docroot, script, env, input);
  const last = run.stdout.trim().split('\n').pop() ?? '';
  let result: { installed?: boolean } | undefined;
  try {
    result = JSON.parse(last) as { installed?: boolean };
  } catch {
    // reported below
  }
  if (run.code !== 0 || typeof result?.installed !== 'boolean') {
    throw new Error(`installing ${site.url} failed (exit ${run.code})\n--- stdout\n${run.stdout.slice(-2000)}\n--- stderr\n${run.stderr.slice(-2000)}`);
  }
  return result.installed;
}

/**
 * Runs `code` in a WordPress loaded the way WP-CLI loads it for `wp
 * --url=<url> …`: the Host (and HTTPS) from the URL, wp-config.php not
 * included but its source evaluated inside a function without the line that
 * requires wp-settings.php (WP-CLI refuses a wp-config.php without such a
 * line: "Strange wp-config.php file"), the variables it leaves made global,
 * then wp-settings.php. (WP-CLI itself is not packaged in Debian 12.)
 */
export function runAsWpCli(docroot: string, env: Readonly<Record<string, string>>, url: string, code: string): Promise<PhpRun> {
  const script = `
    define('WP_CLI', true);
    define('ABSPATH', getcwd() . '/');
    $u = parse_url(${phpString(url)});
    $_SERVER['HTTP_HOST'] = $u['host'] . (isset($u['port']) ? ':' . $u['port'] : '');
    $_SERVER['SERVER_NAME'] = $u['host'];
    $_SERVER['REQUEST_URI'] = $u['path'] ?? '/';
    $_SERVER['QUERY_STRING'] = '';
    if ($u['scheme'] === 'https') { $_SERVER['HTTPS'] = 'on'; }
    function aviary_wp_config_code() {
      $path = ABSPATH . 'wp-config.php';
      $found = false;
      $lines = [];
      foreach (explode("\n", file_get_contents($path)) as $line) {
        if (preg_match('/^\\s*require.+wp-settings\\.php/', $line)) { $found = true; continue; }
        $lines[] = $line;
      }
      if (!$found) { fwrite(STDERR, "Error: Strange wp-config.php file: wp-settings.php is not loaded directly.\n"); exit(1); }
      $source = str_replace(['__FILE__', '__DIR__'], [var_export($path, true), var_export(dirname($path), true)], implode("\n", $lines));
      return preg_replace('|^\\s*\\<\\?php\\s*|', '', $source);
    }
    function aviary_load_wordpress() {
      $wp_cli_original_defined_vars = get_defined_vars();
      eval(aviary_wp_config_code());
      foreach (get_defined_vars() as $key => $var) {
        if (array_key_exists($key, $wp_cli_original_defined_vars) || 'wp_cli_original_defined_vars' === $key) continue;
        global $$key;
        $$key = $var;
      }
      require ABSPATH . 'wp-settings.php';
    }
    aviary_load_wordpress();
    ${code}
  `;
  return runPhp(docroot, script, env);
}

/** A PHP single-quoted string literal. */
function phpString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

// ---- HTTP, with the Host a site is reached by ----

/** Cookies as a browser of one site would keep them (name → value), from Set-Cookie headers. */
export class CookieJar {
  readonly cookies = new Map<string, string>();

  take(setCookie: readonly string[] | undefined): void {
    for (const line of setCookie ?? []) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair!.indexOf('=');
      if (eq <= 0) continue;
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attributes.some((a) => {
        const [k, v = ''] = a.split('=').map((s) => s.trim());
        if (k!.toLowerCase() === 'max-age') return Number(v) <= 0;
        if (k!.toLowerCase() === 'expires') return Date.parse(v) < Date.now();
        return false;
      });
      if (expired || value === 'deleted') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  names(): string[] {
    return [...this.cookies.keys()];
  }
}

export interface HttpOptions {
  /** The Host header: the site's hostname, as the ingress passes it on. */
  host?: string;
  method?: string;
  headers?: Record<string, string>;
  /** A form, sent as application/x-www-form-urlencoded. */
  form?: Record<string, string>;
  /** Sent in Cookie, and updated from Set-Cookie. */
  jar?: CookieJar;
  /** `X-Forwarded-Proto: https`, as an ingress that ends TLS sends. @default true */
  https?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request over a real connection to a `php -S` (no redirect is followed). */
export function http(base: string, path: string, opts: HttpOptions = {}): Promise<HttpResponse> {
  const url = new URL(path, base);
  const body = opts.form ? new URLSearchParams(opts.form).toString() : undefined;
  const headers: Record<string, string> = { ...(opts.host ? { Host: opts.host } : {}), ...(opts.https === false ? {} : { 'X-Forwarded-Proto': 'https' }), ...opts.headers };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    headers['Content-Length'] = String(Buffer.byteLength(body));
  }
  const cookie = opts.jar?.header();
  if (cookie) headers.Cookie = cookie;
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: opts.method ?? (body !== undefined ? 'POST' : 'GET'), headers, agent: false, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        opts.jar?.take(res.headers['set-cookie']);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${req.method} ${url} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** The text of the first <title>, decoded as far as WordPress encodes titles. */
export function titleOf(html: string): string | undefined {
  const m = /<title>([\s\S]*?)<\/title>/i.exec(html);
  if (!m) return undefined;
  return m[1]!
    .replace(/&#0?39;|&#x27;/gi, "'")
    .replace(/&quot;|&#0?34;/gi, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&#8211;/g, '–')
    .replace(/&#8212;/g, '—')
    .replace(/&#8249;/g, '‹')
    .replace(/&#124;/g, '|')
    .replace(/&amp;/g, '&')
    .trim();
}
