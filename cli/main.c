/* riskgate — command dispatcher (placeholder until the subcommands land). */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "riskgate: no subcommands yet\n");
    return 2;
}
