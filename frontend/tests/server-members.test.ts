// The sub-users tab: the list, adding by e-mail with permissions, changing and removing one,
// and the API's refusals in words, against a scripted panel.
import { flushPromises } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { MemberPermissions, type ServerMember } from '@/api/serverTabs'
import { makeI18n } from '@/i18n'
import { apiError } from './helpers'
import { apiPath, list, mountServer, serverId, unmountAll, waitFor } from './server-fixtures'

afterEach(() => {
  unmountAll()
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

const members = apiPath(`/servers/${serverId}/members`)
const member = (email: string, permissions: string[], userId = `u-${email.split('@')[0]}`): ServerMember => ({
  user_id: userId,
  email,
  permissions,
  created_by: 'u-cust',
  created_at: '2025-03-02T09:00:00Z',
  updated_at: '2025-03-02T09:00:00Z',
})
const alice = member('alice@example.test', ['power', 'console'], '11111111-1111-4111-8111-111111111111')
const path = `/servers/${serverId}?tab=members`

describe('member permissions', () => {
  it('are named and explained in both languages', () => {
    for (const lang of ['en', 'zh-CN'] as const) {
      const { te } = makeI18n(lang).global
      for (const p of MemberPermissions) {
        expect(te(`serverTabs.perm.${p}`), `${lang} perm.${p}`).toBe(true)
        expect(te(`serverTabs.permHint.${p}`), `${lang} permHint.${p}`).toBe(true)
      }
    }
  })
})

describe('MembersTab', () => {
  it('lists the sub-users with their permissions', async () => {
    const { wrapper, calls } = await mountServer({ [`GET ${members}`]: list([alice, member('bob@example.test', [])]) }, { path })
    const row = await waitFor(wrapper, '[data-member="alice@example.test"]')
    expect(row.get('[data-test=member-perms]').text()).toBe('Power, Console')
    expect(wrapper.get('[data-member="bob@example.test"] [data-test=member-perms]').text()).toBe('None (can only view)')
    expect(calls.find((c) => c.path.startsWith(members))?.path).toBe(`${members}?page=1&per_page=20`)
    expect(wrapper.findAll('[data-test=member-form] input[data-perm]').map((i) => i.attributes('data-perm'))).toEqual([...MemberPermissions])
  })

  it('adds a sub-user by e-mail with the chosen permissions', async () => {
    const bob = member('bob@example.test', ['power', 'billing'])
    const { wrapper, calls } = await mountServer(
      {
        [`GET ${members}`]: [list([]), list([bob])],
        [`POST ${members}`]: { status: 201, body: bob },
      },
      { path },
    )
    await waitFor(wrapper, '[data-test=members-empty]')
    await wrapper.get('#m-email').setValue(' bob@example.test ')
    // Ticked out of order: the request keeps the API's order.
    await wrapper.get('input[data-perm=billing]').setValue(true)
    await wrapper.get('input[data-perm=power]').setValue(true)
    await wrapper.get('[data-test=member-submit]').trigger('click')
    await flushPromises()
    const post = calls.find((c) => c.method === 'POST')
    expect(post?.path).toBe(members)
    expect(post?.body).toEqual({ email: 'bob@example.test', permissions: ['power', 'billing'] })
    await waitFor(wrapper, '[data-member="bob@example.test"]')
    expect(wrapper.get('[data-test=member-notice]').text()).toBe('bob@example.test was added.')
    expect((wrapper.get('#m-email').element as HTMLInputElement).value).toBe('')
  })

  it('says in place that no account has the address, or that it is a sub-user already', async () => {
    const { wrapper } = await mountServer(
      {
        [`GET ${members}`]: list([alice]),
        [`POST ${members}`]: [
          { status: 404, body: apiError('not_found', 'no account with this e-mail') },
          { status: 409, body: apiError('conflict', 'already a sub-user') },
          { status: 422, body: apiError('validation_failed', 'invalid', { permissions: 'unknown permission "root"' }) },
        ],
      },
      { path },
    )
    await waitFor(wrapper, '[data-member="alice@example.test"]')
    await wrapper.get('#m-email').setValue('nobody@example.test')
    await wrapper.get('[data-test=member-form]').trigger('submit')
    await flushPromises()
    expect(wrapper.get('#m-email-error').text()).toBe('No account uses this e-mail address. Ask the person to sign up first.')
    await wrapper.get('[data-test=member-form]').trigger('submit')
    await flushPromises()
    expect(wrapper.get('#m-email-error').text()).toContain('is a sub-user already')
    await wrapper.get('[data-test=member-form]').trigger('submit')
    await flushPromises()
    expect(wrapper.find('#m-email-error').exists()).toBe(false)
    expect(wrapper.get('[data-test=perm-error]').text()).toBe('unknown permission "root"')
    expect(wrapper.get('[data-test=member-form] [data-test=error]').text()).toContain('Some fields are not valid')
  })

  it('changes the permissions of a sub-user', async () => {
    const { wrapper, calls } = await mountServer(
      {
        [`GET ${members}`]: [list([alice]), list([{ ...alice, permissions: ['console', 'tunnels'] }])],
        [`PATCH ${members}/${alice.user_id}`]: (c) => ({ status: 200, body: { ...alice, permissions: (c.body as { permissions: string[] }).permissions } }),
      },
      { path },
    )
    const row = await waitFor(wrapper, '[data-member="alice@example.test"]')
    await row.get('[data-test=member-edit]').trigger('click')
    expect((wrapper.get('#m-email').element as HTMLInputElement).readOnly).toBe(true)
    expect((wrapper.get('input[data-perm=power]').element as HTMLInputElement).checked).toBe(true)
    await wrapper.get('input[data-perm=power]').setValue(false)
    await wrapper.get('input[data-perm=tunnels]').setValue(true)
    await wrapper.get('[data-test=member-submit]').trigger('click')
    await flushPromises()
    const patch = calls.find((c) => c.method === 'PATCH')
    expect(patch?.path).toBe(`${members}/${alice.user_id}`)
    expect(patch?.body).toEqual({ permissions: ['console', 'tunnels'] })
    await vi.waitFor(() => expect(wrapper.get('[data-member="alice@example.test"] [data-test=member-perms]').text()).toBe('Console, Tunnels'))
    expect(wrapper.get('[data-test=member-notice]').text()).toBe('The permissions of alice@example.test were saved.')
  })

  it('removes a sub-user only after a confirmation', async () => {
    const { wrapper, calls } = await mountServer(
      {
        [`GET ${members}`]: [list([alice]), list([])],
        [`DELETE ${members}/${alice.user_id}`]: { status: 204 },
      },
      { path },
    )
    const row = await waitFor(wrapper, '[data-member="alice@example.test"]')
    await row.get('[data-test=member-remove]').trigger('click')
    expect(wrapper.get('[data-test=confirm-dialog]').text()).toContain('alice@example.test will lose access')
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false)
    await wrapper.get('[data-test=confirm]').trigger('click')
    await flushPromises()
    expect(calls.find((c) => c.method === 'DELETE')?.path).toBe(`${members}/${alice.user_id}`)
    await waitFor(wrapper, '[data-test=members-empty]')
    expect(wrapper.find('[data-member="alice@example.test"]').exists()).toBe(false)
  })

  it('shows a failed list in words', async () => {
    const { wrapper } = await mountServer({ [`GET ${members}`]: { status: 403, body: apiError('forbidden', 'sub-users cannot manage sub-users') } }, { path })
    const err = await waitFor(wrapper, '[role=tabpanel] [data-test=error]')
    expect(err.text()).toBe('You are not allowed to do this.')
    expect(wrapper.find('[data-test=members-empty]').exists()).toBe(false)
  })
})
