#include "card/commands.h"

namespace jpki::cmd {

namespace {
Bytes fid_bytes(std::uint16_t fid) { return Bytes{static_cast<std::uint8_t>(fid >> 8), static_cast<std::uint8_t>(fid)}; }
}  // namespace

CommandApdu select_aid(const Bytes& aid) { return CommandApdu(0x00, 0xA4, 0x04, 0x0C, aid); }

CommandApdu select_ef(std::uint16_t fid) { return CommandApdu(0x00, 0xA4, 0x02, 0x0C, fid_bytes(fid)); }

CommandApdu read_binary(std::uint16_t offset, std::uint32_t le) {
    return CommandApdu::case2(0x00, 0xB0, static_cast<std::uint8_t>(offset >> 8), static_cast<std::uint8_t>(offset), le);
}

CommandApdu verify(std::uint8_t p2, const SecureBuffer& pin) {
    return CommandApdu::sensitive(0x00, kInsVerify, 0x00, p2, pin.data(), pin.size());
}

CommandApdu change_reference_data(const SecureBuffer& new_pin) {
    return CommandApdu::sensitive(0x00, kInsChangeReferenceData, 0x01, kP2CurrentEf, new_pin.data(), new_pin.size());
}

CommandApdu verify_status(std::uint8_t p2) { return CommandApdu(0x00, kInsVerify, 0x00, p2); }

CommandApdu get_response(std::uint32_t le) { return CommandApdu::case2(0x00, 0xC0, 0x00, 0x00, le); }

CommandApdu compute_signature(std::uint8_t p1, std::uint8_t p2, const Bytes& input, std::uint32_t le) {
    return CommandApdu(0x80, 0x2A, p1, p2, input, le);
}

}  // namespace jpki::cmd
