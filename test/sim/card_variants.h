// Named card variants: cards that differ from the documents the module was built from, by one
// file or one answer (jpki-sim --variant NAME; the unit tests use the same table).
#pragma once

#include "test/sim/jpki_card.h"

#include <string>
#include <vector>

namespace jpki::sim {

struct CardVariant {
    const char* name;
    const char* what;  // one line for --help
    void (*apply)(CardConfig&);
};

const std::vector<CardVariant>& card_variants();

// Applies the variant called `name`; false when there is none.
bool apply_card_variant(CardConfig& config, const std::string& name);

}  // namespace jpki::sim
