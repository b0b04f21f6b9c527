# shellcheck shell=bash disable=SC2154 # $tmp comes from checks.sh, sourced before this file
# The TLS server side shared by the integration tests that authenticate to a server with the
# card (tls_test.sh, nss_test.sh, openssl_engine_test.sh, firefox_test.sh). Source it right
# after checks.sh (it uses $tmp, must, fail, CMD_TIMEOUT):
#   source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/tls_server.sh"
# and set CARD (card 1's PKI directory, $JPKI_PKI_DIR/card1) before calling server_pki.
# It gives:
# - `server_pki`: a throwaway server CA and certificate (CN=localhost, IP:127.0.0.1), the card's
#   auth CA as the CA the server trusts, the card's SUBJECT and CN.
# - `tls_server_start` / `tls_server_stop`: one `openssl s_server -Verify 1
#   -verify_return_error ... -www` on 127.0.0.1 (the harness's own network namespace, so fixed
#   ports are free), and `tls_server_kill`, which the `cleanup_extra` defined here calls (a
#   script with more to stop defines its own `cleanup_extra`, calling `tls_server_kill` too).
# - `card_cert_ok`: the checks of s_server's status page and log that prove the client
#   authenticated with exactly the card's auth certificate.

SERVER_WAIT=100                       # tenths of a second to wait for s_server to listen / to exit
SERVER_LIFETIME=$((CMD_TIMEOUT + 30)) # seconds after which timeout ends a server in any case
PORT=44300                            # each server gets the next port
server_pid=""

# server_pki CA_NAME: $tmp/ca.pem (CN=CA_NAME; key ca.key), $tmp/server.pem (key server.key)
# issued by it for localhost and 127.0.0.1, $tmp/auth_ca.pem (card1/auth_ca.der, the CA
# s_server requires the client certificate from: CLIENT_CA); SUBJECT (as `openssl x509 -subject`
# prints it) and CN of card1/auth_cert.der.
server_pki() {
  must ca "making the server CA failed" openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
    -keyout "$tmp/ca.key" -out "$tmp/ca.pem" -subj "/CN=$1" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
  must csr "making the server key failed" openssl req -newkey rsa:2048 -nodes \
    -keyout "$tmp/server.key" -out "$tmp/server.csr" -subj "/CN=localhost"
  printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth" "subjectAltName=DNS:localhost,IP:127.0.0.1" >"$tmp/server.ext"
  must server_cert "signing the server certificate failed" openssl x509 -req -in "$tmp/server.csr" \
    -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -set_serial 1 -days 2 -extfile "$tmp/server.ext" \
    -out "$tmp/server.pem"
  must auth_ca "converting card1/auth_ca.der failed" \
    openssl x509 -inform der -in "$CARD/auth_ca.der" -out "$tmp/auth_ca.pem"
  CLIENT_CA=$tmp/auth_ca.pem
  must subject "reading the subject of card1/auth_cert.der failed" \
    openssl x509 -inform der -in "$CARD/auth_cert.der" -noout -subject
  SUBJECT=$(sed -n 's/^subject=//p' "$tmp/subject.out")
  [[ $SUBJECT == *"CN = "* ]] || fail "card1/auth_cert.der has no CN in '$SUBJECT'" "$tmp/subject.out"
  CN=${SUBJECT##*CN = }
  CN=${CN%%,*}
}

# tls_server_start NAME ARGS...: openssl s_server on 127.0.0.1 on the next PORT, with
# $tmp/server.pem, requiring a client certificate issued by $CLIENT_CA, answering with its
# status page; ARGS are added (-naccept 1, -tls1_3, ...). Log in $tmp/NAME.srv, line-buffered:
# complete also while a server that stays up still runs. Returns once it listens.
tls_server_start() {
  local name=$1 i
  shift
  PORT=$((PORT + 1))
  : >"$tmp/$name.srv" # exists before the loop below reads it
  timeout "$SERVER_LIFETIME" stdbuf -oL openssl s_server -accept "127.0.0.1:$PORT" \
    -cert "$tmp/server.pem" -key "$tmp/server.key" -Verify 1 -verify_return_error \
    -CAfile "$CLIENT_CA" -www "$@" </dev/null >>"$tmp/$name.srv" 2>&1 &
  server_pid=$!
  for ((i = 0; i < SERVER_WAIT; i++)); do
    grep -qx ACCEPT "$tmp/$name.srv" && return 0
    kill -0 "$server_pid" 2>/dev/null || fail "$name: openssl s_server exited before listening" "$tmp/$name.srv"
    sleep 0.1
  done
  fail "$name: openssl s_server does not listen after $((SERVER_WAIT / 10))s" "$tmp/$name.srv"
}

# tls_server_stop NAME: wait (bounded) until a one-connection server (-naccept 1) has exited.
tls_server_stop() {
  local i
  for ((i = 0; i < SERVER_WAIT; i++)); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    echo "(killed: still running $((SERVER_WAIT / 10))s after the client ended)" >>"$tmp/$1.srv"
  fi
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

# tls_server_kill: stop a server still running (for cleanup_extra).
tls_server_kill() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
  return 0
}

# Called by checks.sh's EXIT trap (before it removes $tmp): stop a server still running.
cleanup_extra() { tls_server_kill; }

# card_cert_ok NAME PAGE PROTOCOL SIGTYPE FILE...: the connection to the server NAME (log
# $tmp/NAME.srv) authenticated with the card. s_server's status page PAGE, as the client got it,
# says Protocol PROTOCOL (TLSv1.3, TLSv1.2), "Verify return code: 0 (ok)", peer signature
# SIGTYPE (RSA-PSS, RSA) with SHA256, and after "Client certificate" shows exactly card1's auth
# certificate (subject and PEM); s_server's log has its verification and no verify error. Else
# fails with "NAME: ...", showing FILE...
card_cert_ok() {
  local name=$1 page=$2 vers=$3 sigtype=$4 srv=$tmp/$1.srv got dig subj
  shift 4
  grep -qx " *Protocol *: $vers" "$page" || fail "$name: the server's page does not say 'Protocol  : $vers'" "$@"
  grep -qx ' *Verify return code: 0 (ok)' "$page" ||
    fail "$name: the server's page has no 'Verify return code: 0 (ok)'" "$@"
  got=$(sed -n 's/^Peer signature type: //p' "$page")
  dig=$(sed -n 's/^Peer signing digest: //p' "$page")
  [[ $got == "$sigtype" && $dig == SHA256 ]] ||
    fail "$name: server saw peer signature type '$got' digest '$dig', expected $sigtype SHA256" "$@"
  # s_server prints the verification of each certificate: the card's must pass with no error.
  grep -A1 -xF "depth=0 $SUBJECT" "$srv" >"$tmp/$name.depth0" || true
  grep -qx 'verify return:1' "$tmp/$name.depth0" ||
    fail "$name: s_server did not verify a client certificate 'depth=0 $SUBJECT'" "$@"
  grep -q 'verify error' "$srv" && fail "$name: s_server reports a verify error" "$@"
  grep -qx 'Client certificate' "$page" || fail "$name: the server's page shows no client certificate" "$@"
  sed -n '/^Client certificate$/,$p' "$page" >"$tmp/$name.peer"
  # The page prints the subject as "C=JP, CN=..." where `openssl x509 -subject` has "C = JP, ...".
  subj=$(sed -n 's/^ *Subject: //p' "$tmp/$name.peer" | head -n 1)
  [[ $subj == "${SUBJECT// = /=}" ]] ||
    fail "$name: the client certificate's subject on the server's page is '$subj', not '${SUBJECT// = /=}'" "$@"
  pem_is "$name.peer" "$tmp/$name.peer" "$CARD/auth_cert.der" ||
    fail "$name: the client certificate on the server's page is not card1/auth_cert.der" "$@"
}

# s_client_tls NAME CONF S_SERVER_VERSION S_CLIENT_ARGS...: one connection; s_client (with
# OPENSSL_CONF=CONF, the card's key as S_CLIENT_ARGS say, its certificate from
# $tmp/auth_cert.pem) sends "GET / HTTP/1.0" and, with -ign_eof, reads s_server's status page
# until the server closes. Everything in $tmp/NAME.out (CRs removed in NAME.txt, the page alone
# in NAME.page), the module's trace in NAME.trace, new APDUs of $LOG in NAME.apdu. Sets rc.
s_client_tls() {
  local name=$1 conf=$2 sver=$3 from
  shift 3
  # No TLS 1.3 session tickets: s_client would print their hex dump into the middle of the page.
  tls_server_start "$name" -naccept 1 -num_tickets 0 "$sver"
  local cmd=(openssl s_client -connect "127.0.0.1:$PORT" "$@" -cert "$tmp/auth_cert.pem" -CAfile "$tmp/ca.pem"
    -verify_return_error -verify_ip 127.0.0.1 -ign_eof)
  from=$(apdu_mark)
  { printf '$ OPENSSL_CONF=%s' "${conf##*/}"; shown_args "${cmd[@]}"; printf ' <<< GET\n'; } >"$tmp/$name.out"
  rc=0
  printf 'GET / HTTP/1.0\r\n\r\n' | OPENSSL_CONF=$conf JPKI_TRACE=$tmp/$name.trace \
    timeout "$CMD_TIMEOUT" "${cmd[@]}" >>"$tmp/$name.out" 2>&1 || rc=$?
  ((rc != 124)) || echo "(timed out after ${CMD_TIMEOUT}s)" >>"$tmp/$name.out"
  tls_server_stop "$name"
  new_apdus "$name" "$from"
  tr -d '\r' <"$tmp/$name.out" >"$tmp/$name.txt"
  sed -n '/^HTTP\/1.0 200 ok$/,$p' "$tmp/$name.txt" >"$tmp/$name.page"
}

# s_client_handshake_ok NAME VERSION SIGTYPE: s_client completed a VERSION (TLSv1.2, TLSv1.3)
# handshake, verified the server (CA, IP) and got s_server's status page, which shows that the
# server verified the card's certificate and a SIGTYPE signature (card_cert_ok).
s_client_handshake_ok() {
  local name=$1 vers=$2 sigtype=$3 files=("$tmp/$1.txt" "$tmp/$1.srv" "$tmp/$1.apdu")
  ((rc == 0)) || fail "$name: s_client failed (exit status $rc)" "${files[@]}"
  grep -q "^New, $vers, Cipher is " "$tmp/$name.txt" || fail "$name: no '$vers' handshake in s_client's output" "${files[@]}"
  sed -n '/^HTTP\/1.0 200 ok$/q;p' "$tmp/$name.txt" | grep -q '^ *Verify return code: 0 (ok)' ||
    fail "$name: s_client did not verify the server certificate" "${files[@]}"
  grep -q '</HTML>' "$tmp/$name.page" || fail "$name: no complete status page from s_server" "${files[@]}"
  card_cert_ok "$name" "$tmp/$name.page" "$vers" "$sigtype" "${files[@]}"
}
