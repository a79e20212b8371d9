# shellcheck shell=bash
# A self-signed certificate for the development site. Source after common.sh.

# ensure_dev_cert DIR — DIR/cert.pem and DIR/key.pem for localhost, 127.0.0.1 and ::1 (ECDSA P-256,
# 825 days), made once and then reused. Prints nothing on stdout.
ensure_dev_cert() {
    local dir="$1"
    if [[ -s "$dir/cert.pem" && -s "$dir/key.pem" ]] \
        && openssl x509 -checkend 86400 -noout -in "$dir/cert.pem" >/dev/null 2>&1; then
        return 0
    fi
    command -v openssl >/dev/null 2>&1 || die "openssl is missing"
    mkdir -p -- "$dir"
    chmod 700 -- "$dir"
    say "creating a self-signed certificate in $dir"
    (
        umask 077
        openssl req -x509 -new -nodes -days 825 \
            -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
            -keyout "$dir/key.pem.tmp" -out "$dir/cert.pem.tmp" \
            -subj "/CN=localhost/O=plugind development" \
            -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
            -addext "basicConstraints=critical,CA:FALSE" \
            -addext "keyUsage=critical,digitalSignature" \
            -addext "extendedKeyUsage=serverAuth" >/dev/null 2>&1
    ) || die "openssl could not create the certificate in $dir"
    mv -f -- "$dir/key.pem.tmp" "$dir/key.pem"
    mv -f -- "$dir/cert.pem.tmp" "$dir/cert.pem"
    chmod 644 -- "$dir/cert.pem"
}
