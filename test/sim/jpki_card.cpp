#include "test/sim/jpki_card.h"

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace jpki::sim {

namespace {

const Bytes kAtr = {0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14};
const Bytes kJpkiAid = {0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01};
// The card's other applications: they answer SELECT, and that is all this model does with them.
const Bytes kOtherAids[] = {
    {0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08},  // card-info input support
    {0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x02},  // card surface
    {0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x01},  // resident registry
    {0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x01, 0x00},  // common card
};
const Bytes kIsdAid = {0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00};
const Bytes kSha256DigestInfoPrefix = {0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                       0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};

constexpr std::uint16_t kEfSignCert = 0x0001, kEfSignCa = 0x0002, kEfTokenInfo = 0x0006,
                        kEfAvailability = 0x0008, kEfProtected = 0x0009, kEfAuthCert = 0x000A,
                        kEfAuthCa = 0x000B, kEfAuthKey = 0x0017, kEfAuthPin = 0x0018,
                        kEfSignKey = 0x001A, kEfSignPin = 0x001B;

Bytes read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("jpki-sim: cannot read " + path);
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

EVP_PKEY* read_key(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "r");
    if (!f) throw std::runtime_error("jpki-sim: cannot read " + path);
    EVP_PKEY* key = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    if (!key) throw std::runtime_error("jpki-sim: not a private key: " + path);
    return key;
}

// A certificate EF is larger than its certificate; the rest is filler the card returns too.
Bytes as_ef(Bytes der) {
    const std::size_t size = (der.size() / 256 + 2) * 256;
    der.resize(size, 0xFF);
    return der;
}

void put_padded(Bytes& out, const std::string& s, std::size_t width) {
    for (std::size_t i = 0; i < width; ++i) out.push_back(i < s.size() ? static_cast<std::uint8_t>(s[i]) : ' ');
}

void put_ulong(Bytes& out, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

// EF 0006: a CK_TOKEN_INFO with big-endian 32-bit ULONGs, 160 bytes.
// The card's own rules for a new PIN: 4 digits, or 6-16 of A-Z 0-9.
bool valid_pin(bool is_sign, const std::string& pin) {
    const std::size_t min = is_sign ? 6 : 4, max = is_sign ? 16 : 4;
    if (pin.size() < min || pin.size() > max) return false;
    for (char ch : pin) {
        const bool digit = ch >= '0' && ch <= '9', upper = ch >= 'A' && ch <= 'Z';
        if (!digit && !(is_sign && upper)) return false;
    }
    return true;
}

Bytes token_info(const CardConfig& c) {
    Bytes b;
    put_padded(b, c.token_label, 32);
    put_padded(b, "JPKI card simulator", 32);
    put_padded(b, "E16R01NJ", 16);
    put_padded(b, c.serial, 16);
    put_ulong(b, 0x40D);  // RNG | LOGIN_REQUIRED | USER_PIN_INITIALIZED | TOKEN_INITIALIZED
    for (std::uint32_t v : {1u, 0u, 1u, 0u, 16u, 6u, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu})
        put_ulong(b, v);
    b.insert(b.end(), {'0', '3', '0', '1'});  // hardware / firmware version
    put_padded(b, "", 16);                     // utcTime
    return b;
}

Bytes sha256(const Bytes& data) {
    Bytes out(SHA256_DIGEST_LENGTH);
    SHA256(data.data(), data.size(), out.data());
    return out;
}

// RSA private-key operation with PKCS#1 v1.5 type-1 padding over `data` as given (the card pads).
Bytes sign_pkcs1(EVP_PKEY* key, const Bytes& data) {
    std::unique_ptr<EVP_PKEY_CTX, void (*)(EVP_PKEY_CTX*)> ctx(EVP_PKEY_CTX_new(key, nullptr), EVP_PKEY_CTX_free);
    std::size_t len = 0;
    if (!ctx || EVP_PKEY_sign_init(ctx.get()) <= 0 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) <= 0 ||
        EVP_PKEY_sign(ctx.get(), nullptr, &len, data.data(), data.size()) <= 0)
        return {};
    Bytes sig(len);
    if (EVP_PKEY_sign(ctx.get(), sig.data(), &len, data.data(), data.size()) <= 0) return {};
    sig.resize(len);
    return sig;
}

Bytes sign_pss_sha256(EVP_PKEY* key, const Bytes& hash, int salt) {
    std::unique_ptr<EVP_PKEY_CTX, void (*)(EVP_PKEY_CTX*)> ctx(EVP_PKEY_CTX_new(key, nullptr), EVP_PKEY_CTX_free);
    std::size_t len = 0;
    if (!ctx || EVP_PKEY_sign_init(ctx.get()) <= 0 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) <= 0 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), EVP_sha256()) <= 0 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), salt) <= 0 ||
        EVP_PKEY_sign(ctx.get(), nullptr, &len, hash.data(), hash.size()) <= 0)
        return {};
    Bytes sig(len);
    if (EVP_PKEY_sign(ctx.get(), sig.data(), &len, hash.data(), hash.size()) <= 0) return {};
    sig.resize(len);
    return sig;
}

// The parts of a short command APDU (ISO 7816-3 12.1).
struct Parsed {
    bool ok = false;
    bool extended = false;
    Bytes data;
    bool has_le = false;
    std::size_t le = 0;
};

Parsed parse(const Bytes& c) {
    Parsed p;
    const std::size_t n = c.size();
    if (n < 4) return p;
    if (n == 4) {
        p.ok = true;
    } else if (n == 5) {
        p.ok = p.has_le = true;
        p.le = c[4] ? c[4] : 256;
    } else if (c[4] == 0) {
        p.extended = true;  // 00 then a 2-byte length: extended form
    } else {
        const std::size_t lc = c[4];
        if (n == 5 + lc || n == 6 + lc) {
            p.ok = true;
            p.data.assign(c.begin() + 5, c.begin() + 5 + static_cast<long>(lc));
            if (n == 6 + lc) {
                p.has_le = true;
                p.le = c.back() ? c.back() : 256;
            }
        }
    }
    return p;
}

}  // namespace

struct JpkiCard::Response {
    Bytes data;
    std::uint16_t sw;
    Response(std::uint16_t s) : sw(s) {}
    Response(Bytes d, std::uint16_t s) : data(std::move(d)), sw(s) {}
};

std::string LoggedApdu::text() const {
    char buf[128];
    std::snprintf(buf, sizeof buf, "%s Lc=%zu%s -> %04X len=%zu", to_hex(header).c_str(), lc,
                  redacted ? " data=<redacted>" : "", sw, response_len);
    return buf;
}

JpkiCard::JpkiCard(CardConfig config)
    : config_(std::move(config)), auth_key_(nullptr, EVP_PKEY_free), sign_key_(nullptr, EVP_PKEY_free) {
    load_contents();
}

void JpkiCard::load_contents() {
    const std::string& d = config_.pki_dir;
    auth_key_.reset(read_key(d + "/auth_key.pem"));
    ef_auth_cert_ = as_ef(read_file(d + "/auth_cert.der"));
    ef_auth_ca_ = as_ef(read_file(d + "/auth_ca.der"));
    ef_sign_ca_ = as_ef(read_file(d + "/sign_ca.der"));
    sign_key_.reset();
    ef_sign_cert_.clear();
    if (config_.has_sign_cert) {
        sign_key_.reset(read_key(d + "/sign_key.pem"));
        ef_sign_cert_ = as_ef(read_file(d + "/sign_cert.der"));
    }
    ef_token_info_ = token_info(config_);
    ef_availability_ = {static_cast<std::uint8_t>(config_.has_sign_cert ? 0x8F : 0x00), 0x8F, 0x00};
    apply_variants();
    auth_tries_ = 3;
    sign_tries_ = 5;
    load_state();
}

namespace {
// Bytes that mean nothing: unprintable, and never a DER SEQUENCE.
Bytes garbage(std::size_t n) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(0x81 + (i * 37) % 0x7E);
    return b;
}
}  // namespace

void JpkiCard::apply_variants() {
    switch (config_.token_info_file) {
    case FileVariant::Short: ef_token_info_.resize(40); break;
    case FileVariant::Zeros: ef_token_info_.assign(ef_token_info_.size(), 0x00); break;
    case FileVariant::Garbage: ef_token_info_ = garbage(ef_token_info_.size()); break;
    default: break;
    }
    switch (config_.availability_file) {
    case FileVariant::Short: ef_availability_.resize(1); break;
    case FileVariant::UnexpectedBits: ef_availability_ = {0x8E, 0x0F, 0x01}; break;
    default: break;
    }
    switch (config_.auth_cert_file) {
    case FileVariant::Garbage: ef_auth_cert_ = garbage(ef_auth_cert_.size()); break;
    case FileVariant::BadDerLength:
        // 30 82 LL LL: claim 0x7F00 bytes, far more than the EF holds.
        ef_auth_cert_[2] = 0x7F;
        ef_auth_cert_[3] = 0x00;
        break;
    case FileVariant::NotCertificate: {
        // Keep the SEQUENCE header (30 82 LL LL) and its length; fill its content with noise.
        const std::size_t len = static_cast<std::size_t>(ef_auth_cert_[2] << 8 | ef_auth_cert_[3]);
        const Bytes noise = garbage(len);
        std::copy(noise.begin(), noise.end(), ef_auth_cert_.begin() + 4);
        break;
    }
    default: break;
    }
}

bool JpkiCard::absent(std::uint16_t fid) const {
    switch (fid) {
    case kEfTokenInfo: return config_.token_info_file == FileVariant::Absent;
    case kEfAvailability: return config_.availability_file == FileVariant::Absent;
    case kEfAuthCert: return config_.auth_cert_file == FileVariant::Absent;
    case kEfSignCa:
    case kEfAuthCa: return config_.ca_files_absent;
    default: return false;
    }
}

void JpkiCard::become(CardConfig config) {
    config_ = std::move(config);
    load_contents();
    reset();
}

JpkiCard::~JpkiCard() = default;

const Bytes& JpkiCard::atr() { return kAtr; }

void JpkiCard::power_on() {
    powered_ = true;
    clear_security();
}

void JpkiCard::power_off() {
    powered_ = false;
    ++resets_;
    clear_security();
}

void JpkiCard::reset() {
    powered_ = true;
    ++resets_;
    const bool auth = auth_ok_, sign = sign_ok_;
    clear_security();
    if (config_.warm_reset_keeps_status) {
        auth_ok_ = auth;
        sign_ok_ = sign;
    }
}

void JpkiCard::clear_security() {
    auth_ok_ = sign_ok_ = false;
    df_ = Df::None;
    current_ef_ = 0;
    pending_.clear();
    fresh_after_reset_ = true;
}

void JpkiCard::inject_fault(Fault fault, int nth) {
    fault_ = fault;
    fault_countdown_ = nth;
}

void JpkiCard::set_tries_left(bool sign_pin, int tries) {
    (sign_pin ? sign_tries_ : auth_tries_) = tries;
    save_state();
}

std::size_t JpkiCard::verify_with_data_count() const {
    std::size_t n = 0;
    for (const auto& l : log_)
        if (l.header.size() == 4 && l.header[1] == 0x20 && l.lc > 0) ++n;
    return n;
}

void JpkiCard::load_state() {
    if (config_.state_file.empty()) return;
    std::ifstream in(config_.state_file);
    std::string key, value;
    while (in >> key >> value) {
        if (key == "auth") auth_tries_ = std::stoi(value);
        if (key == "sign") sign_tries_ = std::stoi(value);
        if (key == "auth_pin") config_.auth_pin = value;  // a PIN changed on this simulated card
        if (key == "sign_pin") config_.sign_pin = value;
    }
}

void JpkiCard::save_state() const {
    if (config_.state_file.empty()) return;
    std::ofstream out(config_.state_file, std::ios::trunc);
    out << "auth " << auth_tries_ << "\nsign " << sign_tries_ << "\nauth_pin " << config_.auth_pin
        << "\nsign_pin " << config_.sign_pin << "\n";
}

Bytes JpkiCard::process(const Bytes& command) {
    if (config_.apdu_latency_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(config_.apdu_latency_ms));
    if (pull_at_next_command_) {
        pull_at_next_command_ = false;
        removed_ = true;
        power_off();
        return {};
    }
    if (fault_ != Fault::None && fault_ != Fault::RemovedAfterVerify && --fault_countdown_ <= 0) {
        const Fault f = fault_;
        fault_ = Fault::None;
        switch (f) {
        case Fault::Garbage: {
            Bytes junk(7);
            RAND_bytes(junk.data(), static_cast<int>(junk.size()));
            junk[0] = 0x55;  // never a valid-looking single status word
            return junk;
        }
        case Fault::Truncated: return {0x90};
        case Fault::Mute: return {};
        case Fault::Removed:
            removed_ = true;
            power_off();
            return {};
        case Fault::ResetBefore: reset(); break;
        case Fault::Sw6F00: return {0x6F, 0x00};
        case Fault::RemovedAfterVerify:
        case Fault::None: break;
        }
    }
    if (!powered_ || removed_) return {};

    LoggedApdu entry;
    entry.header.assign(command.begin(), command.begin() + static_cast<long>(std::min<std::size_t>(4, command.size())));
    const Parsed p = parse(command);
    entry.lc = p.data.size();
    entry.redacted = command.size() >= 4 && (command[1] == 0x20 || command[1] == 0x24) && !p.data.empty();
    Response r = dispatch(command);
    if (config_.t0_get_response && !r.data.empty() && !(command.size() > 1 && command[1] == 0xC0)) {
        pending_ = std::move(r.data);
        r = Response(static_cast<std::uint16_t>(0x6100 | (pending_.size() >= 256 ? 0 : pending_.size())));
    }
    entry.sw = r.sw;
    entry.response_len = r.data.size();
    if (fault_ == Fault::RemovedAfterVerify && entry.redacted && command[1] == 0x20 && r.sw == 0x9000) {
        fault_ = Fault::None;
        pull_at_next_command_ = true;
    }
    log_.push_back(entry);
    if (on_log) on_log(entry);
    Bytes out = std::move(r.data);
    out.push_back(static_cast<std::uint8_t>(r.sw >> 8));
    out.push_back(static_cast<std::uint8_t>(r.sw));
    return out;
}

JpkiCard::Response JpkiCard::dispatch(const Bytes& c) {
    const Parsed p = parse(c);
    if (c.size() < 4) return 0x6700;
    const std::uint8_t cla = c[0], ins = c[1];
    if (p.extended) return ins == 0x84 ? 0x6985 : 0x6700;  // no extended length on this card
    if (!p.ok) return 0x6700;
    if (cla & 0x0C) return 0x69FC;  // secure messaging is not offered by the JPKI AP
    if (cla == 0x00) {
        if (ins != 0xC0) pending_.clear();
        switch (ins) {
        case 0xA4: return select(c);
        case 0xB0: return read_binary(c);
        case 0x20: return verify(c);
        case 0x24: return change_reference_data(c);
        case 0x84: return get_challenge(c);
        case 0xCA: return get_data(c);
        case 0xC0: return get_response(c);
        case 0x2A: return 0x6E00;  // the signature command is proprietary: CLA 80 only
        default: return 0x6D00;
        }
    }
    if (cla == 0x80) {
        pending_.clear();
        return ins == 0x2A ? sign(c) : 0x6D00;
    }
    return 0x6E00;
}

JpkiCard::Response JpkiCard::select(const Bytes& c) {
    const Parsed p = parse(c);
    const std::uint8_t p1 = c[2], p2 = c[3];
    if (p1 == 0x04) {
        if (p2 != 0x0C && p2 != 0x00) return 0x6A86;
        if (p.data.empty()) return 0x6700;
        if (p.data == kJpkiAid) {
            df_ = Df::Jpki;
        } else if (p.data == kIsdAid) {
            // Selecting the ISD restores the power-on selection state (not the security status).
            df_ = Df::None;
            current_ef_ = 0;
            fresh_after_reset_ = true;
            return p2 == 0x00 ? Response(Bytes{0x6F, 0x09, 0x84, 0x07, 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00}, 0x9000)
                              : Response(0x9000);
        } else {
            bool known = false;
            for (const auto& aid : kOtherAids) known = known || p.data == aid;
            if (!known) return 0x6A82;
            df_ = Df::OtherAp;
            if (config_.other_ap_clears_status) auth_ok_ = sign_ok_ = false;
        }
        current_ef_ = 0;
        fresh_after_reset_ = false;
        Bytes fci = {0x6F, static_cast<std::uint8_t>(p.data.size() + 2), 0x84,
                     static_cast<std::uint8_t>(p.data.size())};
        fci.insert(fci.end(), p.data.begin(), p.data.end());
        if (p2 == 0x00) return Response(fci, 0x9000);  // FCI requested: a minimal one with the DF name
        return with_fci(std::move(fci));
    }
    if (p1 == 0x02) {
        if (p2 != 0x0C) return 0x6A86;
        if (p.data.size() != 2) return 0x6700;
        if (df_ != Df::Jpki) return 0x6A82;
        const std::uint16_t fid = static_cast<std::uint16_t>(p.data[0] << 8 | p.data[1]);
        switch (fid) {
        case kEfSignCert:
        case kEfSignKey:
            if (!config_.has_sign_cert) return 0x6A82;
            break;
        case kEfSignCa: case kEfTokenInfo: case kEfAvailability: case kEfProtected: case kEfAuthCert:
        case kEfAuthCa: case kEfAuthKey: case kEfAuthPin: case kEfSignPin:
            break;
        default: return 0x6A82;
        }
        if (absent(fid)) return 0x6A82;
        current_ef_ = fid;
        return with_fci(Bytes{0x62, 0x04, 0x83, 0x02, p.data[0], p.data[1]});
    }
    if (p1 == 0x00) {
        // SELECT MF: 6A86 right after reset, else 9000 without changing anything; 3F00 by FID: 6A82.
        if (!p.data.empty()) return 0x6A82;
        return fresh_after_reset_ ? 0x6A86 : 0x9000;
    }
    return 0x6A86;
}

// A SELECT's success when no FCI was asked for: 9000, or on a variant card the FCI anyway
// (data + 9000), or 61xx with the FCI waiting for GET RESPONSE.
JpkiCard::Response JpkiCard::with_fci(Bytes fci) {
    if (config_.select_61xx) {
        const auto n = static_cast<std::uint16_t>(fci.size());
        pending_ = std::move(fci);
        return Response(static_cast<std::uint16_t>(0x6100 | n));
    }
    if (config_.select_with_fci) return Response(std::move(fci), 0x9000);
    return 0x9000;
}

const Bytes* JpkiCard::file(std::uint16_t fid) const {
    if (absent(fid)) return nullptr;
    switch (fid) {
    case kEfSignCert: return config_.has_sign_cert ? &ef_sign_cert_ : nullptr;
    case kEfSignCa: return &ef_sign_ca_;
    case kEfTokenInfo: return &ef_token_info_;
    case kEfAvailability: return &ef_availability_;
    case kEfAuthCert: return &ef_auth_cert_;
    case kEfAuthCa: return &ef_auth_ca_;
    default: return nullptr;
    }
}

JpkiCard::Response JpkiCard::read_binary(const Bytes& c) {
    const Parsed p = parse(c);
    if (!p.data.empty() || !p.has_le) return 0x6700;
    std::size_t offset;
    if (c[2] & 0x80) {  // short EF identifier in P1, 8-bit offset in P2
        if (df_ != Df::Jpki) return 0x6A82;
        const std::uint16_t sfi = c[2] & 0x1F;
        if (!file(sfi) && sfi != kEfProtected) return 0x6A82;
        current_ef_ = sfi;
        offset = c[3];
    } else {
        offset = static_cast<std::size_t>(c[2] << 8 | c[3]);
    }
    if (df_ != Df::Jpki || current_ef_ == 0) return 0x6986;  // no current EF
    if (current_ef_ == kEfSignCert && !sign_ok_) return 0x6982;
    if (current_ef_ == kEfProtected) return 0x6982;
    const Bytes* f = file(current_ef_);
    if (!f) return 0x6981;  // keys and PINs are internal EFs, not readable
    if (offset >= f->size()) return 0x6B00;
    const std::size_t n = std::min(p.le, f->size() - offset);
    // 6282: end of file reached before Le bytes (ISO 7816-4), on a card that says so.
    const bool short_read = config_.read_end_6282 && n < p.le;
    return Response(Bytes(f->begin() + static_cast<long>(offset), f->begin() + static_cast<long>(offset + n)),
                    short_read ? 0x6282 : 0x9000);
}

JpkiCard::Response JpkiCard::verify(const Bytes& c) {
    const Parsed p = parse(c);
    if (c[2] != 0x00) return 0x6A86;
    if (df_ != Df::Jpki) return 0x6A88;
    std::uint16_t target;
    if (c[3] == 0x80) {
        target = current_ef_;
    } else if (c[3] == 0x98 || c[3] == 0x9B) {
        if (!config_.sfi_verify) return 0x6A86;
        target = c[3] & 0x1F;
    } else {
        return 0x6A86;
    }
    if (target != kEfAuthPin && target != kEfSignPin) return 0x6A88;
    const bool is_sign = target == kEfSignPin;
    int& tries = is_sign ? sign_tries_ : auth_tries_;
    bool& ok = is_sign ? sign_ok_ : auth_ok_;
    if (p.has_le) return 0x6700;
    if (p.data.empty()) {  // counter query, costs nothing
        if (config_.empty_verify_sw != 0) return config_.empty_verify_sw;
        if (config_.empty_verify_ok_when_verified && ok) return 0x9000;
        return static_cast<std::uint16_t>(0x63C0 | tries);
    }
    if (tries <= 0) return config_.blocked_verify_sw;  // blocked: never verifies again
    const std::string& secret = is_sign ? config_.sign_pin : config_.auth_pin;
    if (p.data.size() == secret.size() && std::equal(p.data.begin(), p.data.end(), secret.begin())) {
        tries = is_sign ? 5 : 3;
        ok = true;
        save_state();
        return 0x9000;
    }
    --tries;
    ok = false;
    save_state();
    return static_cast<std::uint16_t>(0x63C0 | tries);
}

// CHANGE REFERENCE DATA 00 24 01 80 <new PIN>: the PIN IEF selected, its PIN verified in this
// session (6982 otherwise). A new PIN of the wrong format gets 6A80 (the real card's answer is
// documented nowhere; the module never sends one).
JpkiCard::Response JpkiCard::change_reference_data(const Bytes& c) {
    const Parsed p = parse(c);
    if (c[2] != 0x01 || c[3] != 0x80) return 0x6A86;
    if (df_ != Df::Jpki) return 0x6A88;
    if (current_ef_ != kEfAuthPin && current_ef_ != kEfSignPin) return 0x6A88;
    if (p.has_le) return 0x6700;
    const bool is_sign = current_ef_ == kEfSignPin;
    if (!(is_sign ? sign_ok_ : auth_ok_)) return 0x6982;
    const std::string next(p.data.begin(), p.data.end());
    if (!valid_pin(is_sign, next)) return 0x6A80;
    (is_sign ? config_.sign_pin : config_.auth_pin) = next;
    save_state();
    return 0x9000;
}

JpkiCard::Response JpkiCard::sign(const Bytes& c) {
    const Parsed p = parse(c);
    const std::uint8_t p1 = c[2], p2 = c[3];
    if (config_.security_before_p1 && !auth_ok_ && !sign_ok_) return 0x6982;
    if (p1 > 0x05) return 0x6A86;
    if ((p1 == 0x04 || p1 == 0x05) && !config_.pss) return 0x6A86;
    if (df_ != Df::Jpki) return 0x6A88;
    std::uint16_t key;
    if (p2 == 0x80) {
        key = current_ef_;
    } else if (p2 == 0x97 || p2 == 0x9A) {
        if (!config_.sfi_sign) return 0x6A86;
        key = p2 & 0x1F;
    } else {
        return 0x6A86;
    }
    if (key != kEfAuthKey && !(key == kEfSignKey && config_.has_sign_cert)) return 0x6A88;
    const bool is_sign = key == kEfSignKey;
    if (!(is_sign ? sign_ok_ : auth_ok_)) return 0x6982;
    const Bytes& in = p.data;
    const std::size_t n = in.size();
    const bool length_ok = (p1 == 0x00) ? (n >= 1 && n <= 245) : (p1 == 0x02 || p1 == 0x04) ? n == 32 : n >= 1;
    if (!length_ok) return 0x6700;
    EVP_PKEY* k = is_sign ? sign_key_.get() : auth_key_.get();
    Bytes sig;
    switch (p1) {
    case 0x00: sig = sign_pkcs1(k, in); break;
    case 0x01: sig = sign_pkcs1(k, sha256(in)); break;
    case 0x02: {
        Bytes di = kSha256DigestInfoPrefix;
        di.insert(di.end(), in.begin(), in.end());
        sig = sign_pkcs1(k, di);
        break;
    }
    case 0x03: {
        Bytes di = kSha256DigestInfoPrefix;
        Bytes h = sha256(in);
        di.insert(di.end(), h.begin(), h.end());
        sig = sign_pkcs1(k, di);
        break;
    }
    case 0x04: sig = sign_pss_sha256(k, in, config_.pss_salt_length); break;
    case 0x05: sig = sign_pss_sha256(k, sha256(in), config_.pss_salt_length); break;
    }
    if (sig.empty()) return 0x6F00;
    if (config_.sign_latency_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(config_.sign_latency_ms));
    return Response(std::move(sig), 0x9000);
}

JpkiCard::Response JpkiCard::get_response(const Bytes& c) {
    const Parsed p = parse(c);
    if (c[2] != 0 || c[3] != 0) return 0x6A86;
    if (!p.has_le || !p.data.empty()) return 0x6700;
    if (pending_.empty()) return 0x6985;
    const std::size_t n = std::min(p.le, pending_.size());
    Bytes out(pending_.begin(), pending_.begin() + static_cast<long>(n));
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<long>(n));
    if (!pending_.empty())
        return Response(std::move(out), static_cast<std::uint16_t>(0x6100 | (pending_.size() >= 256 ? 0 : pending_.size())));
    return Response(std::move(out), 0x9000);
}

JpkiCard::Response JpkiCard::get_challenge(const Bytes& c) {
    const Parsed p = parse(c);
    if (c[2] != 0 || c[3] != 0) return 0x6A86;
    if (!p.has_le || !p.data.empty()) return 0x6700;
    Bytes out(p.le);
    RAND_bytes(out.data(), static_cast<int>(out.size()));
    return Response(std::move(out), 0x9000);
}

JpkiCard::Response JpkiCard::get_data(const Bytes& c) {
    const Parsed p = parse(c);
    if (c[2] != 0x5F || c[3] != 0x51) return 0x6A88;
    if (!p.has_le) return 0x6700;
    return Response(Bytes(kAtr.begin() + 1, kAtr.end()), 0x9000);  // contact ATR without TS
}

}  // namespace jpki::sim
