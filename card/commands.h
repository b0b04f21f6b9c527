// The command APDUs the card layer sends, by name (ISO 7816-4 section 11 unless stated), so
// that no CLA/INS/P1/P2 byte is written anywhere else.
#pragma once

#include "card/apdu.h"
#include "common/secure_buffer.h"

#include <cstdint>

namespace jpki::cmd {

// SELECT by DF name, no FCI asked (P1=04, P2=0C): 11.2.2.
CommandApdu select_aid(const Bytes& aid);
// SELECT an EF under the current DF by its file identifier, no FCI (P1=02, P2=0C).
CommandApdu select_ef(std::uint16_t fid);
// READ BINARY at a 15-bit offset in the current EF (B0): 11.3.3.
CommandApdu read_binary(std::uint16_t offset, std::uint32_t le);
// VERIFY with the PIN (20), P2 = 80 (current EF) or 80|SFI: 11.5.6. A sensitive APDU: its
// buffers are wiped and traces never show it.
CommandApdu verify(std::uint8_t p2, const SecureBuffer& pin);
// CHANGE REFERENCE DATA (24), P1 = 01 (new data only), P2 = 80 (the PIN IEF selected): the
// new PIN, after a VERIFY of the old one in the same card session. Sensitive, like VERIFY.
CommandApdu change_reference_data(const SecureBuffer& new_pin);
// VERIFY without data: the PIN's counter, no try spent (JICSAP 6.4.9(5)).
CommandApdu verify_status(std::uint8_t p2);
// GET RESPONSE (C0) for data announced by 61xx: 7.6.1.
CommandApdu get_response(std::uint32_t le);
// JPKI's COMPUTE DIGITAL SIGNATURE, proprietary class 80 (80 2A P1 P2 data Le): P1 = the
// scheme, P2 = 80 (current EF) or 80|SFI of the key, Le = the signature's size.
CommandApdu compute_signature(std::uint8_t p1, std::uint8_t p2, const Bytes& input, std::uint32_t le);

// P2 = 80 | short EF identifier: names an IEF without selecting it.
inline std::uint8_t p2_short_ef(std::uint16_t ef) { return static_cast<std::uint8_t>(0x80 | ef); }
constexpr std::uint8_t kP2CurrentEf = 0x80;
constexpr std::uint8_t kInsVerify = 0x20;  // never resent on our own
constexpr std::uint8_t kInsChangeReferenceData = 0x24;  // never resent either

}  // namespace jpki::cmd
