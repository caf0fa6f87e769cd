/* dlopen/dlclose in a loop of a plugin that allocates in its constructor and
 * frees in its destructor, and hands out a block allocated by its own code
 * that outlives the plugin (freed after dlclose). Built as the driver; with
 * -DLIFE_PLUGIN -shared -fPIC the same file is the plugin.
 * Usage: life_dlopen plugin.so [loops] */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef LIFE_PLUGIN

#define NBLOCKS 100
static void *blocks[NBLOCKS];
static size_t held;

__attribute__((constructor)) static void plugin_load(void)
{
    for (int i = 0; i < NBLOCKS; i++) {
        size_t size = 1000 + (size_t)i * 200;
        blocks[i] = malloc(size);
        if (!blocks[i])
            abort();
        memset(blocks[i], i, size);
        held += malloc_usable_size(blocks[i]);
    }
}

__attribute__((destructor)) static void plugin_unload(void)
{
    for (int i = 0; i < NBLOCKS; i++)
        free(blocks[i]);
    held = 0;
}

size_t plugin_held(void)
{
    return held;
}

void *plugin_block(size_t size)
{
    void *p = calloc(1, size);
    return p;
}

#else

#include <dlfcn.h>
#include <drainprof.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    DRAINPROF_SNAPSHOT("start");
    if (argc < 2)
        return 2;
    int loops = argc > 2 ? atoi(argv[2]) : 200;
    void *kept = NULL;
    size_t kept_usable = 0, held_seen = 0;
    for (int i = 0; i < loops; i++) {
        void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            fprintf(stderr, "dlopen: %s\n", dlerror());
            return 3;
        }
        size_t (*held)(void) = (size_t (*)(void))dlsym(h, "plugin_held");
        void *(*block)(size_t) = (void *(*)(size_t))dlsym(h, "plugin_block");
        if (!held || !block)
            return 4;
        /* The block from the previous plugin instance outlived it. */
        free(kept);
        kept = block(50000 + (size_t)i * 100);
        kept_usable = malloc_usable_size(kept);
        held_seen = held();
        if (i == loops / 2) {
            DRAINPROF_SNAPSHOT("loaded");
            printf("{\"loaded_held\":%zu,\"kept\":%zu}\n", held_seen, kept_usable);
            fflush(stdout);
        }
        if (dlclose(h))
            return 5;
    }
    free(kept);
    DRAINPROF_SNAPSHOT("end");
    printf("{\"loops\":%d,\"held\":%zu}\n", loops, held_seen);
    return 0;
}

#endif
