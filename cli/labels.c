#include "labels.h"

#include <string.h>

#include "../store/alerts.h"

struct load_ctx {
    rg_backtest *b;
    size_t added;
};

static int add_label(void *opaque, const rg_alert *a)
{
    struct load_ctx *lc = opaque;
    if (!a->label)
        return 0;
    rg_backtest_label l = {.event_id = a->event_id, .subject = a->subject, .fraud = strcmp(a->label, "fraud") == 0};
    if (rg_backtest_add_label(lc->b, &l) != 0)
        return -2;
    lc->added++;
    return 0;
}

int rg_cli_load_labels(rg_backtest *b, const char *db_path, char *errstr, size_t errstr_size)
{
    rg_alert_store *s = rg_alert_store_open(db_path, RG_ALERTS_EXISTING, errstr, errstr_size);
    if (!s)
        return -1;
    rg_alert_filter f;
    rg_alert_filter_init(&f);
    f.labelled_only = true;
    struct load_ctx lc = {.b = b};
    int rc = rg_alert_store_scan(s, &f, add_label, &lc, errstr, errstr_size);
    if (rc == -2)
        snprintf(errstr, errstr_size, "out of memory loading labels");
    rg_alert_store_close(s, NULL, 0);
    return rc == 0 ? 0 : -1;
}
