"""One module per paper: bilstm, fashionnet, c2s, joint_embedding, ctl."""
