#include "value.h"

const char *rg_type_name(rg_type t)
{
    switch (t) {
    case RG_T_BOOL: return "boolean";
    case RG_T_INT: return "integer";
    case RG_T_MONEY: return "money";
    case RG_T_DURATION: return "duration";
    case RG_T_NUMBER: return "number";
    case RG_T_STRING: return "string";
    case RG_T_STRLIST: return "list of strings";
    case RG_T_NONE: break;
    }
    return "none";
}
