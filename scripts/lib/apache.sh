# A private Apache 2.4 with Debian's mod_auth_openidc on a loopback port, as a relying party of
# eid in the tests; sourced by scripts/test (like pg.sh). Never the system service: its own
# ServerRoot, configuration, pid file and logs in a temporary folder, stopped at the shell's exit.
#
#   apache_start ISSUER CLIENT_ID CLIENT_SECRET [SCOPE]
#     ISSUER is eid's base URL (http://127.0.0.1:PORT on loopback); exports APACHE_URL (the
#     server's base), APACHE_REDIRECT_URI (register it as the client's redirect URI before the
#     first sign-in) and APACHE_DIR. The protected page is $APACHE_URL/protected/claims: a CGI
#     script that prints, one per line, every claim mod_auth_openidc released (OIDC_CLAIM_*).
#   apache_port — picks the port alone (for a test that must register the redirect URI first):
#     exports APACHE_PORT, APACHE_URL and APACHE_REDIRECT_URI; apache_start then uses it.
#   apache_stop — set as an EXIT trap by apache_start (chained after one already set).
apache_bin=/usr/sbin/apache2
apache_mods=/usr/lib/apache2/modules
apache_dir=""

apache_install() {
  if [ -x "$apache_bin" ] && [ -f "$apache_mods/mod_auth_openidc.so" ]; then
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "Apache with mod_auth_openidc is missing: apt-get install apache2 libapache2-mod-auth-openidc" >&2
    return 1
  fi
  echo "installing apache2 and libapache2-mod-auth-openidc (apt-get)" >&2
  # Installing must not start Debian's own service on port 80: policy-rc.d refuses it.
  local policy=/usr/sbin/policy-rc.d had_policy=1
  if [ ! -e "$policy" ]; then
    had_policy=0
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    apache2 libapache2-mod-auth-openidc >/dev/null 2>&1 \
    || { DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null \
         && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
              apache2 libapache2-mod-auth-openidc >/dev/null; }
  local rc=$?
  [ "$had_policy" = 1 ] || rm -f "$policy"
  return $rc
}

apache_stop() {
  if [ -n "$apache_dir" ] && [ -d "$apache_dir" ]; then
    if [ -s "$apache_dir/run/httpd.pid" ]; then
      local pid
      pid=$(cat "$apache_dir/run/httpd.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -rf "$apache_dir"
    apache_dir=""
  fi
}

apache_port() {
  if [ -z "${APACHE_PORT:-}" ]; then
    APACHE_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  fi
  export APACHE_PORT
  export APACHE_URL="http://127.0.0.1:$APACHE_PORT"
  export APACHE_REDIRECT_URI="$APACHE_URL/protected/redirect_uri"
}

# The configuration for mod_auth_openidc: written to stdout, so a test can read what it runs.
apache_config() {
  local dir=$1 issuer=$2 client_id=$3 client_secret=$4 scope=$5 passphrase=$6 user=$7
  cat <<CONF
ServerRoot "$dir"
ServerName 127.0.0.1
Listen 127.0.0.1:$APACHE_PORT
PidFile "$dir/run/httpd.pid"
ErrorLog "$dir/logs/error.log"
LogLevel warn auth_openidc:info
Mutex file:$dir/run default
DefaultRuntimeDir "$dir/run"
$( [ -n "$user" ] && printf 'User %s\nGroup %s\n' "$user" "$user" )
LoadModule mpm_prefork_module $apache_mods/mod_mpm_prefork.so
LoadModule authz_core_module $apache_mods/mod_authz_core.so
LoadModule authn_core_module $apache_mods/mod_authn_core.so
LoadModule authz_user_module $apache_mods/mod_authz_user.so
LoadModule alias_module $apache_mods/mod_alias.so
LoadModule cgi_module $apache_mods/mod_cgi.so
LoadModule mime_module $apache_mods/mod_mime.so
LoadModule auth_openidc_module $apache_mods/mod_auth_openidc.so
StartServers 2
MaxRequestWorkers 16
TypesConfig /etc/mime.types
DocumentRoot "$dir/htdocs"
<Directory "$dir/htdocs">
  Require all granted
</Directory>

# eid is the provider; on loopback it speaks plain http, which mod_auth_openidc accepts for the
# issuer and its endpoints (TLS validation does not apply to http, so it stays on).
OIDCProviderMetadataURL $issuer/.well-known/openid-configuration
OIDCClientID $client_id
OIDCClientSecret $client_secret
OIDCProviderTokenEndpointAuth client_secret_basic
OIDCRedirectURI http://127.0.0.1:$APACHE_PORT/protected/redirect_uri
OIDCScope "$scope"
OIDCPKCEMethod S256
OIDCResponseType code
OIDCCryptoPassphrase $passphrase
OIDCCookieSameSite Off
OIDCPassClaimsAs environment
OIDCClaimPrefix OIDC_CLAIM_
OIDCPassIDTokenAs claims
OIDCPassUserInfoAs claims
OIDCSessionInactivityTimeout 600
OIDCStateTimeout 600
OIDCHTTPTimeoutLong 20
OIDCHTTPTimeoutShort 10

ScriptAlias /protected/claims "$dir/cgi/claims"
<Location /protected>
  AuthType openid-connect
  Require valid-user
</Location>
CONF
}

apache_start() {
  local issuer=$1 client_id=$2 client_secret=$3 scope=${4:-openid profile}
  apache_install || return 1
  apache_port
  apache_dir=$(mktemp -d /tmp/eid-apache.XXXXXX)
  mkdir -p "$apache_dir/run" "$apache_dir/logs" "$apache_dir/htdocs" "$apache_dir/cgi"
  chmod 755 "$apache_dir" "$apache_dir/htdocs" "$apache_dir/cgi"
  echo '<!doctype html><title>Apache</title><p>public page</p>' > "$apache_dir/htdocs/index.html"
  # The protected page: the claims mod_auth_openidc passed in OIDC_CLAIM_* (and nothing else),
  # sorted, one "name=value" a line, inside <pre id="claims">.
  cat > "$apache_dir/cgi/claims" <<'CGI'
#!/bin/sh
printf 'Content-Type: text/html; charset=utf-8\r\n\r\n'
printf '<!doctype html><meta charset="utf-8"><title>claims</title><h1>protected</h1><pre id="claims">\n'
env | grep '^OIDC_CLAIM_' | sed 's/^OIDC_CLAIM_//' | LC_ALL=C sort \
  | sed 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g'
printf '</pre>\n'
CGI
  chmod 755 "$apache_dir/cgi/claims" "$apache_dir/htdocs/index.html"
  # As root, Apache serves through an unprivileged user (it refuses to run CGI as root).
  local user=""
  if [ "$(id -u)" = 0 ]; then
    user=www-data
    id "$user" >/dev/null 2>&1 || useradd --system --no-create-home "$user"
    chown "$user" "$apache_dir/run" "$apache_dir/logs"
  fi
  local passphrase
  passphrase=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  apache_config "$apache_dir" "$issuer" "$client_id" "$client_secret" "$scope" "$passphrase" "$user" \
    > "$apache_dir/httpd.conf"
  local previous
  previous=$(trap -p EXIT | sed -n "s/^trap -- '\(.*\)' EXIT$/\1/p")
  if [ -n "$previous" ] && [ "$previous" != apache_stop ]; then
    trap "apache_stop; $previous" EXIT
  else
    trap apache_stop EXIT
  fi
  "$apache_bin" -d "$apache_dir" -f "$apache_dir/httpd.conf" -k start 2> "$apache_dir/logs/start.log" || {
    cat "$apache_dir/logs/start.log" "$apache_dir/logs/error.log" >&2 2>/dev/null
    return 1
  }
  for _ in $(seq 1 100); do
    [ -s "$apache_dir/run/httpd.pid" ] && curl -s -o /dev/null "$APACHE_URL/" && break
    sleep 0.1
  done
  curl -s -o /dev/null "$APACHE_URL/" || { cat "$apache_dir/logs/error.log" >&2; return 1; }
  export APACHE_DIR="$apache_dir"
  echo "Apache with mod_auth_openidc on $APACHE_URL ($apache_dir)" >&2
}
