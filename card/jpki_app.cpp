#include "card/jpki_app.h"

#include "card/card_error.h"
#include "card/commands.h"
#include "card/der_length.h"
#include "card/status_words.h"
#include "common/scope_exit.h"
#include "common/trace.h"

#include <algorithm>

namespace jpki {

namespace {

std::size_t index(PinRef ref) { return ref == PinRef::Auth ? 0 : 1; }

// A text field of EF 0006: trailing blanks and NULs trimmed, anything unprintable shown as '?'.
std::string trimmed(const Bytes& b, std::size_t from, std::size_t len) {
    std::string s(b.begin() + static_cast<long>(from), b.begin() + static_cast<long>(from + len));
    while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
    for (char& c : s)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E) c = '?';
    return s;
}

// The first 32 bytes of EF 0006 name the kind of token.
struct KindLabel {
    const char* label;
    TokenKind kind;
};
const KindLabel kKindLabels[] = {
    {"JPKIAPICCTOKEN2", TokenKind::Card},
    {"JPKIAPICCTOKEN", TokenKind::JukiCard},
    {"JPKIAPGPSETOKEN", TokenKind::AndroidSe},
    {"JPKIAPIOSTOKEN", TokenKind::IPhone},
};

TokenKind kind_of(const std::string& label) {
    for (const KindLabel& k : kKindLabels)
        if (label == k.label) return k.kind;
    return TokenKind::Unknown;
}

// Reads a descriptive file of identification; a card whose file is absent or makes no sense is
// still the JPKI card its SELECT said it is: `fallback` is used, and one trace line says why.
template <typename T, typename Read>
T read_or(const char* what, T fallback, Read&& read) {
    try {
        return read();
    } catch (const CardError& e) {
        if (!is_card_answer(e.code())) throw;
        if (trace_enabled()) trace_line(std::string(what) + " unusable (" + e.what() + "): going on without it");
        return fallback;
    }
}

// A serial number as the card holds it: letters and digits only (else none).
bool plausible_serial(const std::string& s) {
    if (s.empty() || s.find_first_not_of('0') == std::string::npos) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return false;
    return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
JpkiSession::JpkiSession(JpkiApp& app) : app_(app), guard_(app.channel_.transport()) {
    // Reset or reconnected underneath us since our last transaction: by another program (our
    // own resets are not reported), or the card was swapped in a way PC/SC reported as a reset
    // (it keeps one pending event per handle, and a later reset hides a removal).
    const bool reset_by_someone = app_.channel_.transport().take_reset_flag();
    if (reset_by_someone) ++app_.epoch_;
    select_application();
    if (reset_by_someone && app_.identity_) confirm_identity();
}

// SELECT by DF name: identifies the card by its application, not its ATR.
void JpkiSession::select_application() {
    ResponseApdu r = app_.channel_.transmit(cmd::select_aid(profile::jpki_aid()));
    if (sw::is_no_application(r.sw())) throw CardError(CardErrc::NotJpki, "SELECT JPKI AP", r.sw());
    if (!r.ok()) throw_for_sw(r.sw(), "SELECT JPKI AP");
}

// Nothing is sent to a card that may not be the one identified (no PIN, no signature request)
// until its EF 0006 and authentication certificate are the same again.
void JpkiSession::confirm_identity() {
    if (trace_enabled()) trace_line("card reset by someone else: checking it is still the card identified");
    const CardIdentity& known = *app_.identity_;
    bool same;
    try {
        same = read_or("EF 0006 (token info)", TokenInfo{}, [&] { return read_token_info(); }).serial ==
                   known.token_info.serial &&
               (known.auth_certificate.empty() || read_certificate(CertFile::AuthCert) == known.auth_certificate);
    } catch (const CardError& e) {
        if (is_card_gone(e.code())) throw;
        same = false;  // it answers otherwise than the card identified
    }
    if (!same) throw CardError(CardErrc::OtherCard, "after a reset");
    select_application();
}

JpkiSession::~JpkiSession() {
    if ((!sent_[0] && !sent_[1]) || locked_) return;
    // Left by an exception after a PIN was presented: lock the card again before the
    // transaction ends, by a power cycle if need be.
    try {
        lock_card();
        return;
    } catch (const CardError& e) {
        if (is_card_gone(e.code())) return;  // a card that left (or was powered down) is locked
        try {
            trace_line(std::string("locking the card after VERIFY: ") + e.what());
        } catch (...) {
        }
    } catch (...) {
    }
    try {
        app_.channel_.transport().unpower_card();
    } catch (...) {
        app_.relock_failed_ = true;  // not used again
    }
}

void JpkiSession::finish() {
    if (!sent_[0] && !sent_[1]) return;
    locked_ = true;  // on failure too: lock_card power-cycled the card where it could
    lock_card();
}

// Whether a key signs now (a probe that spends no PIN try: 6982 = locked). Its input is a
// well-formed SHA-256 DigestInfo of an all-zero hash, so that a card checking the input before
// the security status still answers 6982 when locked; no document hashes to zero.
namespace {
const Bytes& probe_digest_info() {
    static const Bytes kProbeInput = [] {
        Bytes b = {0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                   0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
        b.resize(b.size() + 32, 0x00);
        return b;
    }();
    return kProbeInput;
}
}  // namespace

bool JpkiSession::key_usable(KeyRef key) {
    const Bytes& kProbeInput = probe_digest_info();
    const KeyInfo& info = app_.key_info(key);
    select_application();
    select_ef(info.key_ef);
    ResponseApdu r = app_.channel_.transmit(cmd::compute_signature(static_cast<std::uint8_t>(SignScheme::Pkcs1),
                                                                   cmd::kP2CurrentEf, kProbeInput,
                                                                   static_cast<std::uint32_t>(info.signature_size)));
    if (r.sw() == sw::kSecurityStatusNotSatisfied) return false;
    if (r.ok()) return true;
    throw_for_sw(r.sw(), "post-reset check");
}

PssProbe JpkiSession::probe_pss(KeyRef key) {
    const KeyInfo& info = app_.key_info(key);
    select_application();
    select_ef(info.key_ef);  // P2=80 (the current EF), which every card takes: 6A86 is about P1
    const ResponseApdu r = app_.channel_.transmit(cmd::compute_signature(
        static_cast<std::uint8_t>(SignScheme::PssSha256Hash), cmd::kP2CurrentEf, Bytes(32, 0x00),
        static_cast<std::uint32_t>(info.signature_size)));
    if (r.ok()) return PssProbe::Works;
    if (r.sw() != sw::kWrongP1P2) return PssProbe::Unknown;
    // 6A86 is about P1 only if the card takes this P2 with P1=00 (a locked card: 6982).
    const ResponseApdu pkcs1 = app_.channel_.transmit(cmd::compute_signature(
        static_cast<std::uint8_t>(SignScheme::Pkcs1), cmd::kP2CurrentEf, probe_digest_info(),
        static_cast<std::uint32_t>(info.signature_size)));
    return pkcs1.sw() == sw::kWrongP1P2 ? PssProbe::Unknown : PssProbe::Refused;
}

bool JpkiSession::any_key_usable() {
    return (sent_[index(PinRef::Auth)] && key_usable(KeyRef::Auth)) ||
           (sent_[index(PinRef::Sign)] && key_usable(KeyRef::Sign));
}

void JpkiSession::lock_card() {
    Transport& t = app_.channel_.transport();
    if (app_.warm_reset_locks_.value_or(true)) {
        t.reset_card();
    } else {
        t.unpower_card();
    }
    if (trace_enabled()) trace_line("card reset: PIN status cleared before the transaction ends");
    if (app_.warm_reset_locks_) return;
    // First reset of this card: that a reset clears the security status is single-source, so
    // check it once, with a probe that spends no PIN try; a reader whose warm reset keeps it
    // gets a power cycle from now on. A probe that cannot tell fails the operation, after a
    // power cycle (which clears the status on any card).
    bool unlocked;
    try {
        unlocked = any_key_usable();
    } catch (const CardError& e) {
        if (is_card_gone(e.code())) throw;
        trace_line(std::string("the check that the reset locked the card failed (") + e.what() + "): power-cycling it");
        t.unpower_card();
        app_.warm_reset_locks_ = false;  // a power cycle from now on, without the probe
        throw CardError(CardErrc::ConditionsNotSatisfied, "could not check that the card is locked again");
    }
    if (!unlocked) {
        app_.warm_reset_locks_ = true;
        return;
    }
    trace_line("a warm reset left the card unlocked: power-cycling it instead, for this card from now on");
    t.unpower_card();
    if (any_key_usable()) {
        app_.relock_failed_ = true;  // never used again
        throw CardError(CardErrc::ConditionsNotSatisfied, "card stays unlocked after a power cycle");
    }
    app_.warm_reset_locks_ = false;
}

void JpkiSession::select_ef(std::uint16_t fid) {
    ResponseApdu r = app_.channel_.transmit(cmd::select_ef(fid));
    if (!r.ok()) throw_for_sw(r.sw(), "SELECT EF");
}

JpkiSession::Chunk JpkiSession::read_binary(std::uint16_t offset, std::uint32_t le) {
    ResponseApdu r = app_.channel_.transmit(cmd::read_binary(offset, le));
    const bool eof = r.sw() == sw::kEndOfFileWarning;
    if (r.sw() == sw::kWrongParameters) throw CardError(CardErrc::EndOfFile, "READ BINARY", r.sw());
    if (!r.ok() && !eof) throw_for_sw(r.sw(), "READ BINARY");
    return Chunk{std::move(r.data()), eof};
}

Bytes JpkiSession::read_certificate(CertFile file) {
    select_ef(static_cast<std::uint16_t>(file));
    // The first chunk is a full 256 bytes: it carries the DER header, and every certificate
    // is longer than that, so no APDU is spent on the header alone.
    Chunk first = read_binary(0, 256);
    Bytes out = std::move(first.data);
    bool eof = first.end_of_file;
    const std::size_t total = der_total_length(out.data(), out.size());
    if (total > profile::kMaxFileOffset + 1) throw CardError(CardErrc::MalformedResponse, "certificate too long");
    if (out.size() >= total) {
        out.resize(total);
        return out;
    }
    out.reserve(total);
    // Each round must make progress, so this ends after at most `total` rounds.
    while (out.size() < total) {
        if (eof) throw CardError(CardErrc::MalformedResponse, "file shorter than its DER length");
        const std::uint32_t want = static_cast<std::uint32_t>(std::min<std::size_t>(256, total - out.size()));
        Chunk chunk = read_binary(static_cast<std::uint16_t>(out.size()), want);
        if (chunk.data.empty()) throw CardError(CardErrc::MalformedResponse, "READ BINARY returned no data");
        if (chunk.data.size() > want) throw CardError(CardErrc::MalformedResponse, "READ BINARY longer than asked");
        out.insert(out.end(), chunk.data.begin(), chunk.data.end());
        eof = chunk.end_of_file;
    }
    return out;
}

TokenInfo JpkiSession::read_token_info() {
    select_ef(profile::kEfTokenInfo);
    const Bytes raw = read_binary(0, profile::kTokenInfoSize).data;
    if (raw.size() < 32) throw CardError(CardErrc::MalformedResponse, "EF 0006 too short");
    TokenInfo info;
    info.label = trimmed(raw, 0, 32);
    info.kind = kind_of(info.label);
    if (raw.size() >= 96) {
        info.manufacturer = trimmed(raw, 32, 32);
        info.model = trimmed(raw, 64, 16);
        info.serial = trimmed(raw, 80, 16);
        if (!plausible_serial(info.serial)) {
            if (trace_enabled() && !info.serial.empty()) trace_line("EF 0006 serial '" + info.serial + "' is not one: not used");
            info.serial.clear();
        }
    }
    return info;
}

CertAvailability JpkiSession::read_cert_availability() {
    select_ef(profile::kEfCertAvailability);
    const Bytes raw = read_binary(0, 3).data;
    if (raw.size() < 2) throw CardError(CardErrc::MalformedResponse, "EF 0008 shorter than 2 bytes");
    // 00 is the one value known to mean "no certificate" (8F: present); any other value is
    // taken as present, so the certificate is looked for rather than hidden on a guess.
    auto present = [](std::uint8_t b) { return b != profile::kCertAbsent; };
    if (trace_enabled() && ((raw[0] != profile::kCertPresent && raw[0] != profile::kCertAbsent) ||
                            (raw[1] != profile::kCertPresent && raw[1] != profile::kCertAbsent)))
        trace_line("EF 0008 has unexpected values " + to_hex(Bytes(raw.begin(), raw.begin() + 2)) +
                   ": certificates looked for");
    return CertAvailability{present(raw[0]), present(raw[1])};
}

std::uint16_t JpkiSession::empty_verify(PinRef ref) {
    const std::uint16_t ef = profile::pin_ef(ref);
    if (app_.sfi_verify_.value_or(true)) {
        ResponseApdu r = app_.channel_.transmit(cmd::verify_status(cmd::p2_short_ef(ef)));
        if (!sw::is_unknown_form(r.sw())) {
            app_.sfi_verify_ = true;
            return r.sw();
        }
        // The card does not take the short-EF form: select the IEF and use P2=80 from now on.
        // An empty VERIFY spends no try, so this fallback cannot cost one either.
        app_.sfi_verify_ = false;
    }
    select_ef(ef);
    return app_.channel_.transmit(cmd::verify_status(cmd::kP2CurrentEf)).sw();
}

int JpkiSession::pin_tries_left(PinRef ref) {
    const std::uint16_t status = empty_verify(ref);
    int tries;
    if (const auto left = sw::retries(status)) tries = *left;
    else if (sw::is_blocked(status)) tries = 0;
    else if (status == sw::kOk) tries = pin_rules(ref).max_tries;  // verified now: a verified PIN's counter is full
    else throw CardError(CardErrc::UnexpectedStatus,
                         std::string("PIN counter of ") + profile::pin_name(ref) + " unreadable, so no PIN is sent", status);
    if (tries > pin_rules(ref).max_tries)
        throw CardError(CardErrc::MalformedResponse, "PIN counter above its maximum", status);
    app_.remember_tries(ref, tries);
    return tries;
}

void JpkiSession::change_reference_data(const Pin& new_pin) {
    const PinRef ref = new_pin.ref();
    if (!sent_[index(ref)] || new_pin.bytes().empty())
        throw CardError(CardErrc::BadArgument, "CHANGE REFERENCE DATA without a VERIFY first");
    select_ef(profile::pin_ef(ref));
    const std::uint16_t status = app_.channel_.transmit(cmd::change_reference_data(new_pin.bytes())).sw();
    if (status == sw::kOk) return;
    throw_for_sw(status, std::string("CHANGE REFERENCE DATA ") + profile::pin_name(ref));
}

// A kept PIN may have been changed by another program since the card accepted it. A change
// needs a correct VERIFY, after which the program resets the card (seen: a new epoch), or
// leaves it unlocked (seen: the key signs without our VERIFY); the counter not full means
// someone tried a PIN. In each case the kept PIN is not sent (the token logs out instead).
void JpkiSession::refuse_if_stale(PinRef ref, PinSource source, int tries) {
    const std::string name = profile::pin_name(ref);
    if (tries < pin_rules(ref).max_tries) throw CardError(CardErrc::StalePin, name + ": counter moved", 0, tries);
    if (source.card_epoch != app_.epoch_) throw CardError(CardErrc::StalePin, name + ": card reset by someone else", 0, tries);
    bool unlocked;
    try {
        unlocked = key_usable(profile::key_of(ref));
    } catch (const CardError& e) {
        if (is_card_gone(e.code())) throw;
        unlocked = true;  // a card that cannot tell: the PIN is not sent on a guess
    }
    if (unlocked) throw CardError(CardErrc::StalePin, name + ": card left unlocked by someone else", 0, tries);
}

void JpkiSession::verify(const Pin& pin, PinSource source) {
    const PinRef ref = pin.ref();
    const std::string name = profile::pin_name(ref);
    // The counter read also settles which VERIFY form the card takes, before any PIN is sent.
    const int tries = pin_tries_left(ref);
    if (tries == 0) throw CardError(CardErrc::PinBlocked, name + " not sent", 0, 0);
    if (source.kind == PinSource::Kind::Kept) refuse_if_stale(ref, source, tries);
    // A PIN wiped underneath its owner (a forked child) is never sent: empty, it would read
    // as the counter query.
    if (pin.bytes().empty()) throw CardError(CardErrc::StalePin, name + " wiped, not sent", 0, tries);
    const std::uint8_t p2 = *app_.sfi_verify_ ? cmd::p2_short_ef(profile::pin_ef(ref)) : cmd::kP2CurrentEf;
    sent_[index(ref)] = true;
    const std::uint16_t status = app_.channel_.transmit(cmd::verify(p2, pin.bytes())).sw();
    if (status == sw::kOk) {
        app_.remember_tries(ref, pin_rules(ref).max_tries);
        return;
    }
    if (const auto left = sw::retries(status)) {
        app_.remember_tries(ref, *left);
        throw CardError(CardErrc::PinIncorrect, "VERIFY " + name, status, *left);
    }
    if (sw::is_blocked(status)) {
        app_.remember_tries(ref, 0);
        throw CardError(CardErrc::PinBlocked, "VERIFY " + name, status, 0);
    }
    throw_for_sw(status, "VERIFY " + name);
}

Bytes JpkiSession::sign(KeyRef key, SignScheme scheme, const Bytes& input) {
    const KeyInfo& info = app_.key_info(key);
    const bool pss = scheme == SignScheme::PssSha256Hash;
    // PKCS#1 v1.5 needs 11 bytes of padding; the PSS mode takes a SHA-256 hash.
    if (pss ? input.size() != 32 : (input.empty() || input.size() > info.signature_size - 11))
        throw CardError(CardErrc::BadArgument, "signature input length");
    const auto le = static_cast<std::uint32_t>(info.signature_size);
    auto send = [&](std::uint8_t p2) {
        return app_.channel_.transmit(cmd::compute_signature(static_cast<std::uint8_t>(scheme), p2, input, le));
    };
    std::optional<ResponseApdu> r;
    if (app_.sfi_sign_.value_or(true)) {
        r = send(cmd::p2_short_ef(info.key_ef));
        if (r->ok()) app_.sfi_sign_ = true;
    }
    if (!r || (r->sw() == sw::kWrongP1P2 && !app_.sfi_sign_.value_or(false))) {
        // No short-EF form (or not known yet and refused): select the key and use P2=80.
        // A signature spends no PIN try, so resending it is safe.
        const bool probing = r.has_value();
        select_ef(info.key_ef);
        r = send(cmd::kP2CurrentEf);
        if (probing && r->ok()) app_.sfi_sign_ = false;
    }
    if (!r->ok()) throw_for_sw(r->sw(), "COMPUTE DIGITAL SIGNATURE");
    if (r->data().size() != info.signature_size)
        throw CardError(CardErrc::MalformedResponse, "signature has the wrong size");
    return std::move(r->data());
}

// ---------------------------------------------------------------------------------------------
JpkiApp::JpkiApp(Transport& transport) : channel_(transport) {}

JpkiSession JpkiApp::open() {
    if (relock_failed_) throw CardError(CardErrc::ConditionsNotSatisfied, "this card could not be locked again after VERIFY");
    return JpkiSession(*this);
}

template <typename F>
auto JpkiApp::measured(const char* name, F&& f) {
    const ApduStats before = channel_.stats();
    channel_.set_operation(name);
    ScopeExit finish([&] {
        last_ = channel_.stats() - before;
        channel_.set_operation("");
    });
    return f();
}

const CardIdentity& JpkiApp::identify() {
    CardIdentity id = measured("identify", [&] {
        JpkiSession s = open();
        CardIdentity found;
        found.token_info = read_or("EF 0006 (token info)", TokenInfo{}, [&] { return s.read_token_info(); });
        found.availability = read_or("EF 0008 (certificates present)", CertAvailability{true, true},
                                     [&] { return s.read_cert_availability(); });
        if (found.availability.auth)
            found.auth_certificate = read_or("authentication certificate EF 000A", Bytes{},
                                             [&] { return s.read_certificate(CertFile::AuthCert); });
        return found;
    });
    identity_ = std::move(id);
    return *identity_;
}

TokenInfo JpkiApp::read_token_info() {
    return measured("token-info", [&] { return open().read_token_info(); });
}

CertAvailability JpkiApp::read_cert_availability() {
    return measured("cert-availability", [&] { return open().read_cert_availability(); });
}

Bytes JpkiApp::read_certificate(CertFile file) {
    return measured("read-cert", [&] { return open().read_certificate(file); });
}

void JpkiApp::change_pin(const Pin& old_pin, const Pin& new_pin) {
    if (old_pin.ref() != new_pin.ref()) throw CardError(CardErrc::BadArgument, "change_pin: two different PINs");
    measured("change-pin", [&] {
        JpkiSession s = open();
        s.verify(old_pin);
        s.change_reference_data(new_pin);
        s.finish();
    });
}

PssProbe JpkiApp::probe_pss(KeyRef key) {
    return measured("pss-probe", [&] { return open().probe_pss(key); });
}

int JpkiApp::pin_tries_left(PinRef ref) {
    return measured("pin-status", [&] { return open().pin_tries_left(ref); });
}

void JpkiApp::check_pin(const Pin& pin) {
    measured("check-pin", [&] {
        JpkiSession s = open();
        s.verify(pin);
        s.finish();
    });
}

Bytes JpkiApp::read_certificate_with_pin(CertFile file, const Pin& pin) {
    return measured("read-cert-pin", [&] {
        JpkiSession s = open();
        s.verify(pin);
        Bytes cert = s.read_certificate(file);
        s.finish();
        return cert;
    });
}

Bytes JpkiApp::sign(const Pin& pin, KeyRef key, SignScheme scheme, const Bytes& input, PinSource source) {
    if (key_info(key).pin != pin.ref()) throw CardError(CardErrc::BadArgument, "PIN does not belong to this key");
    return measured("sign", [&] {
        JpkiSession s = open();
        s.verify(pin, source);
        Bytes signature = s.sign(key, scheme, input);
        s.finish();
        return signature;
    });
}

}  // namespace jpki
