/*
 * Unit tests for rules/sha256.c (FIPS 180-2 appendix B test vectors) and
 * the rule set id built on it: the first 12 hex digits of the SHA-256 of
 * the file's exact bytes, stable across loads and changed by any byte.
 */
#include "test_rules_util.h"

#include "rules/sha256.h"

static const char *hex_of(const void *data, size_t len, char out[65])
{
    rg_sha256_hex(data, len, out, 64);
    return out;
}

static void test_fips_vectors(void **state)
{
    (void)state;
    char out[65];
    assert_string_equal(hex_of("abc", 3, out), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_string_equal(hex_of("", 0, out), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    assert_string_equal(hex_of(two, strlen(two), out),
                        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* One million 'a', fed in uneven pieces through the streaming API. */
    static char block[1000];
    memset(block, 'a', sizeof block);
    rg_sha256_ctx c;
    rg_sha256_init(&c);
    size_t fed = 0, step = 1;
    while (fed < 1000000) {
        size_t n = step < 1000000 - fed ? step : 1000000 - fed;
        if (n > sizeof block)
            n = sizeof block;
        rg_sha256_update(&c, block, n);
        fed += n;
        step = step * 7 % 997 + 1;
    }
    unsigned char d[32];
    rg_sha256_final(&c, d);
    static const unsigned char want[32] = {0xcd, 0xc7, 0x6e, 0x5c, 0x99, 0x14, 0xfb, 0x92, 0x81, 0xa1, 0xc7,
                                           0xe2, 0x84, 0xd7, 0x3e, 0x67, 0xf1, 0x80, 0x9a, 0x48, 0xa4, 0x97,
                                           0x20, 0x0e, 0x04, 0x6d, 0x39, 0xcc, 0xc7, 0x11, 0x2c, 0xd0};
    assert_memory_equal(d, want, 32);
    /* Lengths around the padding boundary (55, 56, 64 bytes). */
    assert_string_equal(hex_of(block, 55, out), "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
    assert_string_equal(hex_of(block, 56, out), "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
    assert_string_equal(hex_of(block, 64, out), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
    char twelve[13];
    rg_sha256_hex("abc", 3, twelve, 12);
    assert_string_equal(twelve, "ba7816bf8f01");
}

static void test_ruleset_id(void **state)
{
    (void)state;
    const char *yaml = "version: 1\nrules:\n  - id: a\n    when: amount > 5\n    then: [review: account]\n";
    rg_ruleset *a = must_load(yaml), *b = must_load(yaml);
    char want[13];
    rg_sha256_hex(yaml, strlen(yaml), want, 12);
    assert_string_equal(rg_ruleset_id(a), want);
    assert_string_equal(rg_ruleset_id(a), rg_ruleset_id(b));
    /* One byte more (a trailing space: same rules) is another file. */
    char changed[256];
    snprintf(changed, sizeof changed, "%s ", yaml);
    rg_ruleset *c = must_load(changed);
    assert_string_not_equal(rg_ruleset_id(a), rg_ruleset_id(c));
    for (const char *p = rg_ruleset_id(c); *p; p++)
        assert_non_null(strchr("0123456789abcdef", *p));
    rg_ruleset_free(a);
    rg_ruleset_free(b);
    rg_ruleset_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fips_vectors),
        cmocka_unit_test(test_ruleset_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
