# Source this file from csh or tcsh to use the virtual environment:
#     source @@VENV_DIR_COMMENT@@/@@BIN_NAME@@/activate.csh
# Running it as a program has no effect on the calling shell.

alias deactivate 'test $?_OLD_VIRTUAL_PROMPT != 0 && set prompt="$_OLD_VIRTUAL_PROMPT" && unset _OLD_VIRTUAL_PROMPT; test $?_OLD_VIRTUAL_PATH != 0 && setenv PATH "$_OLD_VIRTUAL_PATH" && unset _OLD_VIRTUAL_PATH; rehash; unsetenv VIRTUAL_ENV_PROMPT; unsetenv VIRTUAL_ENV; test "\!:*" != "nondestructive" && unalias deactivate'

# Leave any environment that is active now.
deactivate nondestructive

setenv VIRTUAL_ENV @@VENV_DIR@@

set _OLD_VIRTUAL_PATH="$PATH"
setenv PATH "$VIRTUAL_ENV/"@@BIN_NAME@@":$PATH"

set _OLD_VIRTUAL_PROMPT="$prompt"

if (! "$?VIRTUAL_ENV_DISABLE_PROMPT") then
    set prompt = @@PROMPT@@"$prompt"
    setenv VIRTUAL_ENV_PROMPT @@PROMPT@@
endif

alias pydoc python -m pydoc

rehash
