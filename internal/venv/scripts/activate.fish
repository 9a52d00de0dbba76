# Source this file from fish to use the virtual environment:
#     source @@VENV_DIR_COMMENT@@/@@BIN_NAME@@/activate.fish
# Running it as a program has no effect on the calling shell.

function deactivate -d "Leave the virtual environment and restore the shell"
    # Put back what activation changed, then forget it.
    if test -n "$_OLD_VIRTUAL_PATH"
        set -gx PATH $_OLD_VIRTUAL_PATH
        set -e _OLD_VIRTUAL_PATH
    end
    if test -n "$_OLD_VIRTUAL_PYTHONHOME"
        set -gx PYTHONHOME $_OLD_VIRTUAL_PYTHONHOME
        set -e _OLD_VIRTUAL_PYTHONHOME
    end

    if test -n "$_OLD_FISH_PROMPT_OVERRIDE"
        set -e _OLD_FISH_PROMPT_OVERRIDE
        # Restore the saved prompt, if this shell saved one.
        if functions -q _old_fish_prompt
            functions -e fish_prompt
            functions -c _old_fish_prompt fish_prompt
            functions -e _old_fish_prompt
        end
    end

    set -e VIRTUAL_ENV
    set -e VIRTUAL_ENV_PROMPT
    if test "$argv[1]" != "nondestructive"
        functions -e deactivate
    end
end

# Leave any environment that is active now.
deactivate nondestructive

set -gx VIRTUAL_ENV @@VENV_DIR@@

set -gx _OLD_VIRTUAL_PATH $PATH
set -gx PATH "$VIRTUAL_ENV/"@@BIN_NAME@@ $PATH

# A PYTHONHOME would point the interpreter away from this environment.
if set -q PYTHONHOME
    set -gx _OLD_VIRTUAL_PYTHONHOME $PYTHONHOME
    set -e PYTHONHOME
end

if test -z "$VIRTUAL_ENV_DISABLE_PROMPT"
    # fish draws its prompt with a function: keep the old one and wrap it.
    functions -c fish_prompt _old_fish_prompt

    function fish_prompt
        # Keep the status of the last command for the old prompt.
        set -l old_status $status

        printf "%s%s%s" (set_color 4B8BBE) @@PROMPT@@ (set_color normal)

        echo "exit $old_status" | .
        _old_fish_prompt
    end

    set -gx _OLD_FISH_PROMPT_OVERRIDE "$VIRTUAL_ENV"
    set -gx VIRTUAL_ENV_PROMPT @@PROMPT@@
end
