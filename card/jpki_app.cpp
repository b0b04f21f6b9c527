#include "card/jpki_app.h"

#include "card/card_error.h"
#include "card/der_length.h"
#include "card/trace.h"

#include <algorithm>

namespace jpki {

namespace {

const std::uint8_t kJpkiAid[] = {0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01};

constexpr std::uint16_t kEfTokenInfo = 0x0006;
constexpr std::uint16_t kEfCertAvailability = 0x0008;
constexpr std::size_t kTokenInfoSize = 160;
constexpr std::uint8_t kCertPresent = 0x8F;
constexpr std::size_t kSignatureSize = 256;  // RSA-2048
constexpr std::size_t kMaxPkcs1Input = kSignatureSize - 11;
constexpr std::uint32_t kMaxOffset = 0x7FFF;  // READ BINARY offsets are 15 bits

std::uint16_t pin_ef(PinRef ref) { return ref == PinRef::Auth ? 0x0018 : 0x001B; }
std::uint16_t key_ef(KeyRef key) { return key == KeyRef::Auth ? 0x0017 : 0x001A; }
// P2 = 80 | short EF identifier: names the IEF without selecting it.
std::uint8_t sfi_p2(std::uint16_t ef) { return static_cast<std::uint8_t>(0x80 | ef); }
const char* pin_name(PinRef ref) { return ref == PinRef::Auth ? "auth PIN" : "sign PIN"; }

bool is_p1p2_error(std::uint16_t sw) { return sw == 0x6A86 || sw == 0x6B00 || sw == 0x6A88 || sw == 0x6A82; }

std::string trimmed(const Bytes& b, std::size_t from, std::size_t len) {
    std::string s(b.begin() + static_cast<long>(from), b.begin() + static_cast<long>(from + len));
    while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
    for (char& c : s)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E) c = '?';
    return s;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
JpkiSession::JpkiSession(JpkiApp& app) : app_(app), guard_(app.channel_.transport()) {
    app_.channel_.transport().take_reset_flag();  // we select the AP anyway
    // SELECT by DF name, no FCI (P2=0C): identifies the card by its application, not its ATR.
    ResponseApdu r = app_.channel_.transmit(
        CommandApdu(0x00, 0xA4, 0x04, 0x0C, Bytes(std::begin(kJpkiAid), std::end(kJpkiAid))));
    if (r.sw() == 0x6A82 || r.sw() == 0x6A86 || r.sw() == 0x6D00 || r.sw() == 0x6E00)
        throw CardError(CardErrc::NotJpki, "SELECT JPKI AP", r.sw());
    if (!r.ok()) throw_for_sw(r.sw(), "SELECT JPKI AP");
}

JpkiSession::~JpkiSession() {
    if (!pin_sent_) return;
    // A PIN was presented: lock the card again before the transaction ends.
    try {
        lock_card();
    } catch (const CardError& e) {
        // A card that left (or was powered down) is locked; anything else: not used again.
        const CardErrc c = e.code();
        if (c != CardErrc::CardRemoved && c != CardErrc::NoCard && c != CardErrc::NoReader && c != CardErrc::NoService)
            app_.unlockable_ = true;
        try {
            trace_line(std::string("locking the card after VERIFY: ") + e.what());
        } catch (...) {
        }
    } catch (...) {
        app_.unlockable_ = true;
    }
}

// Whether a key signs now (a probe that spends no PIN try: 6982 = locked).
bool JpkiSession::key_usable(KeyRef key) {
    ResponseApdu r = app_.channel_.transmit(
        CommandApdu(0x00, 0xA4, 0x04, 0x0C, Bytes(std::begin(kJpkiAid), std::end(kJpkiAid))));
    if (!r.ok()) throw_for_sw(r.sw(), "SELECT JPKI AP");
    select_ef(key_ef(key));
    r = app_.channel_.transmit(CommandApdu(0x80, 0x2A, 0x00, 0x80, Bytes{0x00}, 256));
    if (r.sw() == 0x6982) return false;
    if (r.ok()) return true;
    throw_for_sw(r.sw(), "post-reset check");
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
    // gets a power cycle from now on.
    auto unlocked = [&] {
        return (sent_auth_ && key_usable(KeyRef::Auth)) || (sent_sign_ && key_usable(KeyRef::Sign));
    };
    if (!unlocked()) {
        app_.warm_reset_locks_ = true;
        return;
    }
    trace_line("a warm reset left the card unlocked: power-cycling it instead, for this card from now on");
    t.unpower_card();
    if (unlocked()) throw CardError(CardErrc::ConditionsNotSatisfied, "card stays unlocked after a power cycle");
    app_.warm_reset_locks_ = false;
}

void JpkiSession::select_ef(std::uint16_t fid) {
    ResponseApdu r = app_.channel_.transmit(CommandApdu(
        0x00, 0xA4, 0x02, 0x0C, Bytes{static_cast<std::uint8_t>(fid >> 8), static_cast<std::uint8_t>(fid)}));
    if (!r.ok()) throw_for_sw(r.sw(), "SELECT EF");
}

Bytes JpkiSession::read_binary(std::uint16_t offset, std::uint32_t le, bool& eof) {
    ResponseApdu r = app_.channel_.transmit(CommandApdu::case2(
        0x00, 0xB0, static_cast<std::uint8_t>(offset >> 8), static_cast<std::uint8_t>(offset), le));
    eof = r.sw() == 0x6282;
    if (r.sw() == 0x6B00) throw CardError(CardErrc::EndOfFile, "READ BINARY", r.sw());
    if (!r.ok() && !eof) throw_for_sw(r.sw(), "READ BINARY");
    return std::move(r.data());
}

Bytes JpkiSession::read_certificate(CertFile file) {
    select_ef(static_cast<std::uint16_t>(file));
    // The first chunk is a full 256 bytes: it carries the DER header, and every certificate
    // is longer than that, so no APDU is spent on the header alone.
    bool eof = false;
    Bytes out = read_binary(0, 256, eof);
    const std::size_t total = der_total_length(out.data(), out.size());
    if (total > kMaxOffset + 1) throw CardError(CardErrc::MalformedResponse, "certificate too long");
    if (out.size() >= total) {
        out.resize(total);
        return out;
    }
    out.reserve(total);
    // Each round must make progress, so this ends after at most `total` rounds.
    while (out.size() < total) {
        if (eof) throw CardError(CardErrc::MalformedResponse, "file shorter than its DER length");
        const std::uint32_t want = static_cast<std::uint32_t>(std::min<std::size_t>(256, total - out.size()));
        Bytes chunk = read_binary(static_cast<std::uint16_t>(out.size()), want, eof);
        if (chunk.empty()) throw CardError(CardErrc::MalformedResponse, "READ BINARY returned no data");
        if (chunk.size() > want) throw CardError(CardErrc::MalformedResponse, "READ BINARY longer than asked");
        out.insert(out.end(), chunk.begin(), chunk.end());
    }
    return out;
}

TokenInfo JpkiSession::read_token_info() {
    select_ef(kEfTokenInfo);
    bool eof = false;
    Bytes raw = read_binary(0, kTokenInfoSize, eof);
    if (raw.size() < 32) throw CardError(CardErrc::MalformedResponse, "EF 0006 too short");
    TokenInfo info;
    info.label = trimmed(raw, 0, 32);
    if (info.label == "JPKIAPICCTOKEN2") info.kind = TokenKind::Card;
    else if (info.label == "JPKIAPICCTOKEN") info.kind = TokenKind::JukiCard;
    else if (info.label == "JPKIAPGPSETOKEN") info.kind = TokenKind::AndroidSe;
    else if (info.label == "JPKIAPIOSTOKEN") info.kind = TokenKind::IPhone;
    if (raw.size() >= 96) {
        info.manufacturer = trimmed(raw, 32, 32);
        info.model = trimmed(raw, 64, 16);
        info.serial = trimmed(raw, 80, 16);
    }
    return info;
}

CertAvailability JpkiSession::read_cert_availability() {
    select_ef(kEfCertAvailability);
    bool eof = false;
    Bytes raw = read_binary(0, 3, eof);
    if (raw.size() != 3) throw CardError(CardErrc::MalformedResponse, "EF 0008 is not 3 bytes");
    return CertAvailability{raw[0] == kCertPresent, raw[1] == kCertPresent};
}

std::uint16_t JpkiSession::empty_verify(PinRef ref) {
    const std::uint16_t ef = pin_ef(ref);
    if (app_.sfi_verify_.value_or(true)) {
        ResponseApdu r = app_.channel_.transmit(CommandApdu(0x00, 0x20, 0x00, sfi_p2(ef)));
        if (!is_p1p2_error(r.sw())) {
            app_.sfi_verify_ = true;
            return r.sw();
        }
        // The card does not take the short-EF form: select the IEF and use P2=80 from now on.
        // An empty VERIFY spends no try, so this fallback cannot cost one either.
        app_.sfi_verify_ = false;
    }
    select_ef(ef);
    return app_.channel_.transmit(CommandApdu(0x00, 0x20, 0x00, 0x80)).sw();
}

int JpkiSession::pin_tries_left(PinRef ref) {
    const std::uint16_t sw = empty_verify(ref);
    int tries;
    if ((sw & 0xFFF0) == 0x63C0) tries = sw & 0x0F;
    else if (sw == 0x6983 || sw == 0x6984) tries = 0;
    else throw_for_sw(sw, std::string("PIN status of ") + pin_name(ref));
    if (tries > pin_rules(ref).max_tries) throw CardError(CardErrc::MalformedResponse, "PIN counter above its maximum", sw);
    app_.remember_tries(ref, tries);
    return tries;
}

void JpkiSession::verify(const Pin& pin, bool kept) {
    const PinRef ref = pin.ref();
    // The counter read also settles which VERIFY form the card takes, before any PIN is sent.
    const int tries = pin_tries_left(ref);
    if (tries == 0) throw CardError(CardErrc::PinBlocked, std::string(pin_name(ref)) + " not sent", 0, 0);
    if (kept && tries < pin_rules(ref).max_tries)
        throw CardError(CardErrc::StalePin, std::string(pin_name(ref)) + " not sent", 0, tries);
    const std::uint8_t p2 = *app_.sfi_verify_ ? sfi_p2(pin_ef(ref)) : 0x80;
    pin_sent_ = true;
    (ref == PinRef::Auth ? sent_auth_ : sent_sign_) = true;
    const std::uint16_t sw = [&] {
        CommandApdu apdu = CommandApdu::sensitive(0x00, 0x20, 0x00, p2, pin.bytes().data(), pin.bytes().size());
        return app_.channel_.transmit(apdu).sw();
    }();
    if (sw == 0x9000) {
        app_.remember_tries(ref, pin_rules(ref).max_tries);
        return;
    }
    if ((sw & 0xFFF0) == 0x63C0) {
        const int left = sw & 0x0F;
        app_.remember_tries(ref, left);
        throw CardError(CardErrc::PinIncorrect, std::string("VERIFY ") + pin_name(ref), sw, left);
    }
    if (sw == 0x6983 || sw == 0x6984) {
        app_.remember_tries(ref, 0);
        throw CardError(CardErrc::PinBlocked, std::string("VERIFY ") + pin_name(ref), sw, 0);
    }
    throw_for_sw(sw, std::string("VERIFY ") + pin_name(ref));
}

Bytes JpkiSession::sign(KeyRef key, SignScheme scheme, const Bytes& input) {
    const bool pss = scheme == SignScheme::PssSha256Hash;
    if (pss ? input.size() != 32 : (input.empty() || input.size() > kMaxPkcs1Input))
        throw CardError(CardErrc::BadArgument, "signature input length");
    const std::uint8_t p1 = static_cast<std::uint8_t>(scheme);
    const std::uint16_t ef = key_ef(key);
    auto send = [&](std::uint8_t p2) {
        return app_.channel_.transmit(CommandApdu(0x80, 0x2A, p1, p2, input, 256));
    };
    std::optional<ResponseApdu> r;
    if (app_.sfi_sign_.value_or(true)) {
        r = send(sfi_p2(ef));
        if (r->ok()) app_.sfi_sign_ = true;
    }
    if (!r || (r->sw() == 0x6A86 && !app_.sfi_sign_.value_or(false))) {
        // No short-EF form (or not known yet and refused): select the key and use P2=80.
        // A signature spends no PIN try, so resending it is safe.
        const bool probing = r.has_value();
        select_ef(ef);
        r = send(0x80);
        if (probing && r->ok()) app_.sfi_sign_ = false;
    }
    if (!r->ok()) throw_for_sw(r->sw(), "COMPUTE DIGITAL SIGNATURE");
    if (r->data().size() != kSignatureSize)
        throw CardError(CardErrc::MalformedResponse, "signature is not 256 bytes");
    return std::move(r->data());
}

// ---------------------------------------------------------------------------------------------
JpkiApp::JpkiApp(Transport& transport) : channel_(transport) {}

JpkiSession JpkiApp::open() {
    if (unlockable_) throw CardError(CardErrc::ConditionsNotSatisfied, "this card could not be locked again after VERIFY");
    return JpkiSession(*this);
}

template <typename F>
auto JpkiApp::measured(const char* name, F&& f) {
    const ApduStats before = channel_.stats();
    channel_.set_operation(name);
    struct Finish {
        JpkiApp& app;
        const ApduStats& before;
        ~Finish() {
            app.last_ = app.channel_.stats() - before;
            app.channel_.set_operation("");
        }
    } finish{*this, before};
    return f();
}

std::pair<TokenInfo, CertAvailability> JpkiApp::identify() {
    return measured("identify", [&] {
        JpkiSession s = open();
        TokenInfo info = s.read_token_info();
        return std::make_pair(info, s.read_cert_availability());
    });
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

int JpkiApp::pin_tries_left(PinRef ref) {
    return measured("pin-status", [&] { return open().pin_tries_left(ref); });
}

void JpkiApp::check_pin(const Pin& pin) {
    measured("check-pin", [&] { open().verify(pin); });
}

Bytes JpkiApp::read_certificate_with_pin(CertFile file, const Pin& pin) {
    return measured("read-cert-pin", [&] {
        JpkiSession s = open();
        s.verify(pin);
        return s.read_certificate(file);
    });
}

Bytes JpkiApp::sign(const Pin& pin, KeyRef key, SignScheme scheme, const Bytes& input, bool kept) {
    if ((key == KeyRef::Auth) != (pin.ref() == PinRef::Auth))
        throw CardError(CardErrc::BadArgument, "PIN does not belong to this key");
    return measured("sign", [&] {
        JpkiSession s = open();
        s.verify(pin, kept);
        return s.sign(key, scheme, input);
    });
}

}  // namespace jpki
