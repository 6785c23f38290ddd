<?php
/**
 * Aviary's reference wp-config.php: one WordPress code base serving every
 * site of a fleet, as the web image contract says (README, "The web image
 * contract"; examples/image/README.md).
 *
 * For each request it finds the site by the Host header in files the pod
 * sees, all read-only and kept up to date by the kubelet:
 *
 *   $AVIARY_SITES_DIR/<hostname>   {"id","url","s3Prefix"}
 *   $AVIARY_SECRETS_DIR/<id>.db    {"host","port","database","username","password"}
 *   $AVIARY_SECRETS_DIR/<id>.keys  the 8 WordPress keys and salts
 *   $AVIARY_CANARY_FILE            {"selector","image"}
 *
 * and answers, before WordPress is loaded:
 *   GET /aviary-health          200 "ok" when both folders are readable, else 503 (no Host needed);
 *   wp-admin/install.php,
 *   wp-admin/setup-config.php   404 (sites are installed by the install Job with WP-CLI);
 *   an unknown or malformed Host 404;
 *   a site whose secrets are not there yet   503 with Retry-After: 30.
 *
 * Under the PHP command line (WP-CLI, with --url) the Host comes from the URL
 * and the same lookup runs; a failure is a message on stderr and exit 1.
 *
 * WP-CLI does not include this file: it evaluates its code without the line
 * that requires wp-settings.php, so that line stays on its own at the end,
 * the file has no closing PHP tag, and every variable here is unset after
 * use (WP-CLI turns the ones left over into globals).
 */

$aviary_cli = PHP_SAPI === 'cli' || defined('WP_CLI');
$aviary_sites_dir = rtrim(getenv('AVIARY_SITES_DIR') ?: '/etc/aviary/sites', '/');
$aviary_secrets_dir = rtrim(getenv('AVIARY_SECRETS_DIR') ?: '/etc/aviary/secrets', '/');
$aviary_canary_file = getenv('AVIARY_CANARY_FILE') ?: '/etc/aviary/canary/canaryEnv';

/** Ends the request (or the command) without loading WordPress. */
$aviary_refuse = static function (int $status, string $message, array $headers = []) use ($aviary_cli): never {
    if ($aviary_cli) {
        fwrite(STDERR, "aviary: $message\n");
        exit(1);
    }
    http_response_code($status);
    header('Content-Type: text/plain; charset=utf-8');
    header('Cache-Control: no-store');
    foreach ($headers as $header) {
        header($header);
    }
    echo $message, "\n";
    exit;
};

/** A JSON object from a file, or null when it is missing, unreadable or not an object. */
$aviary_read_json = static function (string $path): ?array {
    $text = is_file($path) ? @file_get_contents($path) : false;
    if ($text === false) {
        return null;
    }
    $value = json_decode($text, true);
    return is_array($value) && !array_is_list($value) ? $value : null;
};

if (!$aviary_cli) {
    // The path as requested, decoded and with repeated slashes collapsed, so
    // that /wp-admin//install%2Ephp is recognized too.
    $aviary_path = preg_replace('#/+#', '/', rawurldecode((string) parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH)));

    // Health: no Host lookup and no database, so a readiness probe (which
    // sends no site's Host) tells whether this pod can serve at all.
    if ($aviary_path === '/aviary-health') {
        $aviary_ok = is_dir($aviary_sites_dir) && is_readable($aviary_sites_dir)
            && is_dir($aviary_secrets_dir) && is_readable($aviary_secrets_dir);
        http_response_code($aviary_ok ? 200 : 503);
        header('Content-Type: text/plain; charset=utf-8');
        header('Cache-Control: no-store');
        echo $aviary_ok ? 'ok' : 'unavailable';
        exit;
    }

    // The install and setup wizards: whoever reaches them first could become
    // the admin of a site, or point it at a database of their own.
    $aviary_wizard = '#(^|/)wp-admin/(install|setup-config)\.php$#i';
    $aviary_script = str_replace('\\', '/', (string) ($_SERVER['SCRIPT_FILENAME'] ?? ''));
    if (preg_match('#(^|/)wp-admin/(install|setup-config)\.php(/|$)#i', $aviary_path) || preg_match($aviary_wizard, $aviary_script)) {
        $aviary_refuse(404, 'Not Found');
    }
}

// Host -> site.
$aviary_host = strtolower(trim((string) ($_SERVER['HTTP_HOST'] ?? '')));
$aviary_host = preg_replace('/:[0-9]*$/', '', $aviary_host);
if (strlen($aviary_host) > 253 || !preg_match('/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/', $aviary_host)) {
    $aviary_refuse(404, $aviary_cli ? 'no site host: run WP-CLI with --url=<the site URL>' : 'Unknown site');
}
$aviary_site = $aviary_read_json("$aviary_sites_dir/$aviary_host");
if ($aviary_site === null) {
    $aviary_refuse(404, $aviary_cli ? "no site has the hostname $aviary_host (no file in $aviary_sites_dir)" : 'Unknown site');
}
$aviary_id = $aviary_site['id'] ?? null;
$aviary_url = $aviary_site['url'] ?? null;
if (!is_string($aviary_id) || !preg_match('/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/', $aviary_id)
    || !is_string($aviary_url) || !preg_match('#^https?://[^/]+$#i', $aviary_url)) {
    error_log("aviary: malformed site entry for host $aviary_host");
    $aviary_refuse(503, 'Site unavailable', ['Retry-After: 30']);
}

// Its secrets: External Secrets copies them from Secrets Manager into the
// pod a while after the site appears in the host map.
$aviary_db = $aviary_read_json("$aviary_secrets_dir/$aviary_id.db");
$aviary_keys = $aviary_read_json("$aviary_secrets_dir/$aviary_id.keys");
$aviary_key_names = ['AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY', 'AUTH_SALT', 'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT'];
$aviary_ready = $aviary_db !== null && $aviary_keys !== null;
foreach (['host', 'database', 'username', 'password'] as $aviary_field) {
    $aviary_ready = $aviary_ready && is_string($aviary_db[$aviary_field] ?? null) && $aviary_db[$aviary_field] !== '';
}
$aviary_ready = $aviary_ready && (is_string($aviary_db['port'] ?? null) || is_int($aviary_db['port'] ?? null));
foreach ($aviary_key_names as $aviary_field) {
    $aviary_ready = $aviary_ready && is_string($aviary_keys[$aviary_field] ?? null) && $aviary_keys[$aviary_field] !== '';
}
if (!$aviary_ready) {
    $aviary_refuse(503, $aviary_cli ? "the secrets of site $aviary_id are not in $aviary_secrets_dir yet" : 'Site not ready yet', ['Retry-After: 30']);
}

define('AVIARY_SITE_ID', $aviary_id);
define('AVIARY_S3_PREFIX', is_string($aviary_site['s3Prefix'] ?? null) ? $aviary_site['s3Prefix'] : "sites/$aviary_id/");
define('AVIARY_COLOR', (string) getenv('AVIARY_COLOR'));
$aviary_canary = $aviary_read_json($aviary_canary_file);
define('AVIARY_IS_CANARY', AVIARY_COLOR !== '' && ($aviary_canary['selector'] ?? null) === AVIARY_COLOR);

define('DB_NAME', $aviary_db['database']);
define('DB_USER', $aviary_db['username']);
define('DB_PASSWORD', $aviary_db['password']);
$aviary_db_host = str_contains($aviary_db['host'], ':') ? '[' . $aviary_db['host'] . ']' : $aviary_db['host'];
define('DB_HOST', $aviary_db_host . ':' . $aviary_db['port']);
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
foreach ($aviary_key_names as $aviary_field) {
    define($aviary_field, $aviary_keys[$aviary_field]);
}

// The URL WordPress serves this hostname at, as the host map says: the
// site's canonical URL for its public hostnames (WordPress redirects the
// www / non-www twin of the canonical hostname there; other hostnames are
// served with links to it), the preview hostname's own URL for the preview.
define('WP_HOME', $aviary_url);
define('WP_SITEURL', $aviary_url);
if (stripos($aviary_url, 'https://') === 0) {
    define('FORCE_SSL_ADMIN', true);
}
// TLS ends at the ingress; it says so in X-Forwarded-Proto (the first value if it is a list).
if (strtolower(trim(explode(',', (string) ($_SERVER['HTTP_X_FORWARDED_PROTO'] ?? ''))[0])) === 'https') {
    $_SERVER['HTTPS'] = 'on';
}

// Code, themes and plugins ship in the image, pinned: nothing is installed or
// edited at run time, and WordPress does not update itself.
define('DISALLOW_FILE_MODS', true);
define('DISALLOW_FILE_EDIT', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_AUTO_UPDATE_CORE', false);
// Sites share the code base: keep their uploads apart, and their keys apart
// in a shared object cache.
define('UPLOADS', 'wp-content/uploads/' . $aviary_id);
define('WP_CACHE_KEY_SALT', $aviary_id . ':');

$table_prefix = 'wp_';

if (!$aviary_cli && AVIARY_COLOR !== '' && !headers_sent()) {
    header('X-Aviary-Color: ' . preg_replace('/[^a-z0-9-]/', '', AVIARY_COLOR));
}

unset(
    $aviary_cli, $aviary_sites_dir, $aviary_secrets_dir, $aviary_canary_file, $aviary_refuse, $aviary_read_json,
    $aviary_path, $aviary_ok, $aviary_wizard, $aviary_script, $aviary_host, $aviary_site, $aviary_id, $aviary_url,
    $aviary_db, $aviary_keys, $aviary_key_names, $aviary_ready, $aviary_field, $aviary_canary, $aviary_db_host
);

if (!defined('ABSPATH')) {
    define('ABSPATH', __DIR__ . '/');
}
require_once ABSPATH . 'wp-settings.php';
