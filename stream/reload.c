/* reload — rule files loaded off the loop thread; see reload.h. */
#include "reload.h"

#include <stdlib.h>

static void *load(void *arg)
{
    rg_reloader *r = arg;
    char *errors = NULL;
    rg_ruleset *rs = rg_ruleset_load_files(r->paths, r->n_paths, &errors);
    pthread_mutex_lock(&r->lock);
    r->rs = rs;
    r->errors = errors;
    r->done = true;
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

void rg_reloader_init(rg_reloader *r, const char *const *paths, size_t n_paths)
{
    *r = (rg_reloader){.paths = paths, .n_paths = n_paths};
    pthread_mutex_init(&r->lock, NULL);
}

static int start(rg_reloader *r)
{
    r->done = false;
    r->rs = NULL;
    r->errors = NULL;
    if (pthread_create(&r->thread, NULL, load, r) != 0)
        return -1;
    r->running = true;
    return 0;
}

int rg_reloader_request(rg_reloader *r)
{
    if (r->running) {
        r->again = true;
        return 0;
    }
    return start(r);
}

int rg_reloader_take(rg_reloader *r, rg_ruleset **rs, char **errors)
{
    if (!r->running) {
        if (r->again && start(r) == 0)
            r->again = false;   /* a start that failed before, tried again */
        return 0;
    }
    pthread_mutex_lock(&r->lock);
    bool done = r->done;
    pthread_mutex_unlock(&r->lock);
    if (!done)
        return 0;
    pthread_join(r->thread, NULL);
    r->running = false;
    *rs = r->rs;
    *errors = r->errors;
    r->rs = NULL;
    r->errors = NULL;
    if (r->again) {
        r->again = false;
        if (start(r) != 0)
            r->again = true;   /* tried again at the next take */
    }
    return 1;
}

void rg_reloader_stop(rg_reloader *r)
{
    if (r->running) {
        pthread_join(r->thread, NULL);
        r->running = false;
        rg_ruleset_free(r->rs);
        free(r->errors);
        r->rs = NULL;
        r->errors = NULL;
    }
    pthread_mutex_destroy(&r->lock);
}
