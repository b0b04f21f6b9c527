#include "card/apdu.h"

#include "card/card_error.h"

#include "common/secure_memory.h"

namespace jpki {

CommandApdu::CommandApdu(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2)
    : cla_(cla), ins_(ins), p1_(p1), p2_(p2) {}

CommandApdu::CommandApdu(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2,
                         Bytes data, std::optional<std::uint32_t> le)
    : cla_(cla), ins_(ins), p1_(p1), p2_(p2), data_(std::move(data)), le_(le) {
    if (data_.size() > 65535) throw CardError(CardErrc::BadArgument, "APDU data longer than 65535");
    if (le_ && (*le_ == 0 || *le_ > 65536)) throw CardError(CardErrc::BadArgument, "APDU Le out of range");
}

CommandApdu CommandApdu::case2(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2,
                               std::uint32_t le) {
    return CommandApdu(cla, ins, p1, p2, Bytes{}, le);
}

CommandApdu CommandApdu::sensitive(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1,
                                   std::uint8_t p2, const std::uint8_t* data, std::size_t len) {
    CommandApdu apdu(cla, ins, p1, p2);
    apdu.data_.reserve(len);  // exact size: no reallocation leaves a copy behind
    apdu.data_.assign(data, data + len);
    apdu.sensitive_ = true;
    return apdu;
}

CommandApdu::~CommandApdu() {
    if (sensitive_) secure_wipe(data_.data(), data_.size());
}

bool CommandApdu::needs_extended() const {
    return data_.size() > 255 || (le_ && *le_ > 256);
}

CommandApdu CommandApdu::with_le(std::uint32_t le) const {
    if (sensitive_) throw CardError(CardErrc::BadArgument, "cannot resend a sensitive APDU");
    return CommandApdu(cla_, ins_, p1_, p2_, data_, le);
}

void CommandApdu::encode(Bytes& out) const {
    out.clear();
    out.reserve(4 + 3 + data_.size() + 3);
    out.insert(out.end(), {cla_, ins_, p1_, p2_});
    const bool extended = needs_extended();
    if (!data_.empty()) {
        if (extended) {
            out.push_back(0x00);
            out.push_back(static_cast<std::uint8_t>(data_.size() >> 8));
        }
        out.push_back(static_cast<std::uint8_t>(data_.size()));
        out.insert(out.end(), data_.begin(), data_.end());
    }
    if (le_) {
        if (extended) {
            if (data_.empty()) out.push_back(0x00);
            const std::uint32_t v = *le_ == 65536 ? 0 : *le_;
            out.push_back(static_cast<std::uint8_t>(v >> 8));
            out.push_back(static_cast<std::uint8_t>(v));
        } else {
            out.push_back(static_cast<std::uint8_t>(*le_ == 256 ? 0 : *le_));
        }
    }
}

ResponseApdu ResponseApdu::parse(const std::uint8_t* raw, std::size_t len) {
    if (!raw || len < 2) throw CardError(CardErrc::MalformedResponse, "response without status word");
    const std::uint16_t sw = static_cast<std::uint16_t>(raw[len - 2] << 8 | raw[len - 1]);
    return ResponseApdu(Bytes(raw, raw + len - 2), sw);
}

}  // namespace jpki
