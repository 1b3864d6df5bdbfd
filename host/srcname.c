/*
 * The names of vat sources: a module's text is stored once, under the
 * SHA-256 of its bytes.  Launching many vats from one folder reads the same
 * files again and again; the kernel remembers the last files it named, and
 * a text equal byte for byte to one of them takes that name without being
 * hashed again (a comparison costs a few percent of a hash).
 */
#include "kernel_int.h"

#include <string.h>

#include "alloc.h"
#include "sha256.h"

#define REMEMBERED 32                /* files */
#define REMEMBER_MAX ((size_t)64 << 10) /* bytes of one remembered file */

typedef struct named_text {
    char *text;
    size_t len;
    char hash[LVAT_SHA256_HEX_LEN + 1];
} named_text;

struct lvat_srcnames {
    named_text e[REMEMBERED];
    unsigned next; /* the slot replaced next */
};

void
lvat__srcnames_free(lvat_kernel *k)
{
    if (k->srcnames == NULL)
        return;
    for (unsigned i = 0; i < REMEMBERED; i++)
        lvat_free(k->srcnames->e[i].text);
    lvat_free(k->srcnames);
    k->srcnames = NULL;
}

static void
remember(lvat_kernel *k, const lvat_plan_module *m)
{
    named_text *e;
    char *copy;

    if (m->len > REMEMBER_MAX ||
        (k->srcnames == NULL &&
         (k->srcnames = lvat_calloc(1, sizeof *k->srcnames)) == NULL))
        return; /* remembering is only a shortcut */
    if ((copy = lvat_memdup(m->text, m->len)) == NULL)
        return;
    e = &k->srcnames->e[k->srcnames->next];
    k->srcnames->next = (k->srcnames->next + 1) % REMEMBERED;
    lvat_free(e->text);
    e->text = copy;
    e->len = m->len;
    memcpy(e->hash, m->hash, sizeof e->hash);
}

void
lvat__source_name(lvat_kernel *k, lvat_plan_module *m)
{
    for (unsigned i = 0; k->srcnames && i < REMEMBERED; i++) {
        const named_text *e = &k->srcnames->e[i];
        if (e->text != NULL && e->len == m->len &&
            memcmp(e->text, m->text, m->len) == 0) {
            memcpy(m->hash, e->hash, sizeof m->hash);
            return;
        }
    }
    lvat_sha256_hex(m->text, m->len, m->hash);
    remember(k, m);
}
