# Source this file from bash or zsh to use the virtual environment:
#     . @@VENV_DIR_COMMENT@@/@@BIN_NAME@@/activate
# Running it as a program has no effect on the calling shell.

deactivate () {
    # Put back what activation changed, then forget it.
    if [ -n "${_OLD_VIRTUAL_PATH:-}" ] ; then
        PATH="${_OLD_VIRTUAL_PATH:-}"
        export PATH
        unset _OLD_VIRTUAL_PATH
    fi
    if [ -n "${_OLD_VIRTUAL_PYTHONHOME:-}" ] ; then
        PYTHONHOME="${_OLD_VIRTUAL_PYTHONHOME:-}"
        export PYTHONHOME
        unset _OLD_VIRTUAL_PYTHONHOME
    fi
    if [ -n "${_OLD_VIRTUAL_PS1+set}" ] ; then
        PS1="${_OLD_VIRTUAL_PS1:-}"
        export PS1
        unset _OLD_VIRTUAL_PS1
    fi

    # bash and zsh remember where commands were found; make them look again.
    if [ -n "${BASH:-}" ] || [ -n "${ZSH_VERSION:-}" ] ; then
        hash -r 2> /dev/null
    fi

    unset VIRTUAL_ENV
    unset VIRTUAL_ENV_PROMPT
    if [ "${1:-}" != "nondestructive" ] ; then
        unset -f deactivate
    fi
}

# Leave any environment that is active now.
deactivate nondestructive

VIRTUAL_ENV=@@VENV_DIR@@
export VIRTUAL_ENV

_OLD_VIRTUAL_PATH="$PATH"
PATH="$VIRTUAL_ENV/"@@BIN_NAME@@":$PATH"
export PATH

# A PYTHONHOME would point the interpreter away from this environment.
if [ -n "${PYTHONHOME:-}" ] ; then
    _OLD_VIRTUAL_PYTHONHOME="${PYTHONHOME:-}"
    unset PYTHONHOME
fi

if [ -z "${VIRTUAL_ENV_DISABLE_PROMPT:-}" ] ; then
    _OLD_VIRTUAL_PS1="${PS1:-}"
    PS1=@@PROMPT@@"${PS1:-}"
    export PS1
    VIRTUAL_ENV_PROMPT=@@PROMPT@@
    export VIRTUAL_ENV_PROMPT
fi

if [ -n "${BASH:-}" ] || [ -n "${ZSH_VERSION:-}" ] ; then
    hash -r 2> /dev/null
fi
